// Prints the GraphQL schema to schema.graphql (committed; a test fails when it drifts).
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { printGraphqlSchema } from '../src/graphql/print.js';

writeFileSync(new URL('../schema.graphql', import.meta.url), await printGraphqlSchema());
process.stdout.write('schema.graphql written\n');
