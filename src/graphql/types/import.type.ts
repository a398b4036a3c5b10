// The Entra group import: integrations and their runs.
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTime, ShareRole } from './scalars.js';

export enum ImportIdentifier {
  UPN = 'upn',
  MAIL = 'mail',
}
registerEnumType(ImportIdentifier, { name: 'ImportIdentifier', description: 'The Entra attribute that becomes the userName: User Principal Name (default) or Mail' });

export enum ImportMode {
  USERS_ONLY = 'users_only',
  GRANT_SHARES = 'grant_shares',
}
registerEnumType(ImportMode, { name: 'ImportMode', description: '"Import as users only", or also share the chosen places and locks with the imported members' });

@ObjectType({ simpleResolvers: true })
export class ImportTarget {
  @Field(() => ID, { nullable: true }) placeId!: string | null;
  @Field(() => ID, { nullable: true }) lockId!: string | null;
  @Field(() => ShareRole) role!: ShareRole;
}

@ObjectType({ simpleResolvers: true, description: 'The last run of an integration' })
export class ImportRunSummary {
  @Field(() => DateTime, { nullable: true }) startedAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'running, success or failed' }) status!: string | null;
  @Field(() => String, { nullable: true, description: 'Stable code of the failure, e.g. entra_secret_invalid or entra_consent_missing' }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Int, { nullable: true, description: 'Users in the Entra group' }) total!: number | null;
  @Field(() => Int, { nullable: true }) added!: number | null;
  @Field(() => Int, { nullable: true }) updated!: number | null;
  @Field(() => Int, { nullable: true }) removed!: number | null;
  @Field(() => Int, { nullable: true }) durationMs!: number | null;
}

@ObjectType({ simpleResolvers: true, description: 'An Entra group import: one Entra group pulled from Microsoft Graph on a schedule. Never the client secret.' })
export class ImportIntegration {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) tenantId!: string;
  @Field(() => String) clientId!: string;
  @Field(() => ID, { description: 'Object id of the Entra group' }) entraGroupId!: string;
  @Field(() => ImportIdentifier) identifier!: ImportIdentifier;
  @Field(() => ImportMode) mode!: ImportMode;
  @Field(() => ID, { description: 'The Gatehouse group (source IMPORT) holding the imported members' }) groupId!: string;
  @Field(() => Boolean) paused!: boolean;
  @Field(() => [ImportTarget]) targets!: ImportTarget[];
  @Field(() => ImportRunSummary) lastRun!: ImportRunSummary;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime) updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'The result of one run' })
export class ImportRunResult {
  @Field(() => ID) integrationId!: string;
  @Field(() => String, { description: 'success, failed or skipped' }) status!: string;
  @Field(() => String, { nullable: true, description: 'already_running, paused or not_due' }) skippedReason!: string | null;
  @Field(() => Int) total!: number;
  @Field(() => Int) added!: number;
  @Field(() => Int) created!: number;
  @Field(() => Int) updated!: number;
  @Field(() => Int) removed!: number;
  @Field(() => Int) skipped!: number;
  @Field(() => Int) durationMs!: number;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}

@InputType()
export class ImportTargetInput {
  @Field(() => ID, { nullable: true }) placeId?: string | null;
  @Field(() => ID, { nullable: true }) lockId?: string | null;
  @Field(() => ShareRole, { nullable: true }) role?: ShareRole | null;
}

@InputType()
export class CreateImportIntegrationInput {
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'Entra tenant (directory) id or verified domain' }) tenantId!: string;
  @Field(() => String, { description: 'Application (client) id of the app registration' }) clientId!: string;
  @Field(() => String, { description: 'Client secret; stored encrypted, never returned' }) clientSecret!: string;
  @Field(() => ID) entraGroupId!: string;
  @Field(() => ImportIdentifier, { nullable: true }) identifier?: ImportIdentifier | null;
  @Field(() => ImportMode, { nullable: true }) mode?: ImportMode | null;
  @Field(() => [ImportTargetInput], { nullable: true }) targets?: ImportTargetInput[] | null;
}
