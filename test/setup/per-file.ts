import 'reflect-metadata';
import { recordStatements } from './record-statements.js';

if (process.env.RECORD_STATEMENTS) recordStatements(process.env.RECORD_STATEMENTS);
