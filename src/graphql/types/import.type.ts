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

export enum ImportCredentials {
  CLIENT_SECRET = 'client_secret',
  GATEHOUSE_APP = 'gatehouse_app',
}
registerEnumType(ImportCredentials, {
  name: 'ImportCredentials',
  description: "How the import gets its Graph tokens: the organisation's own app registration (client id and secret), or Gatehouse's own application after an admin consent (Authorize with Microsoft)",
});

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
  @Field(() => String, { description: "The own registration's client id, or Gatehouse's application's" }) clientId!: string;
  @Field(() => ImportCredentials) credentials!: ImportCredentials;
  @Field(() => Boolean, { description: 'Whether a client secret is stored (never returned)' }) clientSecretSet!: boolean;
  @Field(() => ID, { description: 'Object id of the Entra group' }) entraGroupId!: string;
  @Field(() => String, { nullable: true, description: 'Display name of the Entra group when it was picked' }) entraGroupName!: string | null;
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
  @Field(() => ImportCredentials, { nullable: true, description: 'Default CLIENT_SECRET; GATEHOUSE_APP needs a consented tenant (entraImportSetup.consentedTenants)' })
  credentials?: ImportCredentials | null;
  @Field(() => String, { nullable: true, description: 'Application (client) id of the app registration (CLIENT_SECRET only)' }) clientId?: string | null;
  @Field(() => String, { nullable: true, description: 'Client secret; stored encrypted, never returned (CLIENT_SECRET only)' }) clientSecret?: string | null;
  @Field(() => ID) entraGroupId!: string;
  @Field(() => String, { nullable: true, description: 'Display name of the picked group (shown in lists)' }) entraGroupName?: string | null;
  @Field(() => ImportIdentifier, { nullable: true }) identifier?: ImportIdentifier | null;
  @Field(() => ImportMode, { nullable: true }) mode?: ImportMode | null;
  @Field(() => [ImportTargetInput], { nullable: true }) targets?: ImportTargetInput[] | null;
}

@ObjectType({ simpleResolvers: true, description: 'One recorded run of an integration (runs that changed something or failed; a run that changed nothing is only the last run)' })
export class ImportRunRecord {
  @Field(() => DateTime) at!: Date;
  @Field(() => String, { description: 'success or failed' }) status!: string;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => Int, { nullable: true }) total!: number | null;
  @Field(() => Int, { nullable: true }) added!: number | null;
  @Field(() => Int, { nullable: true }) updated!: number | null;
  @Field(() => Int, { nullable: true }) removed!: number | null;
  @Field(() => Int, { nullable: true }) durationMs!: number | null;
}

@ObjectType({ simpleResolvers: true, description: "A Microsoft tenant in which an admin of the organisation authorised Gatehouse's application" })
export class EntraConsentedTenant {
  @Field(() => String) tenantId!: string;
  @Field(() => DateTime) consentedAt!: Date;
  @Field(() => String, { nullable: true, description: 'userName of the admin who authorised it' }) consentedBy!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'What connecting an Entra group needs: Gatehouse\'s application (when this Gatehouse has one) and the tenants already authorised' })
export class EntraImportSetup {
  @Field(() => String, { nullable: true, description: "Client id of Gatehouse's own multi-tenant application; null: Authorize with Microsoft is not offered here (use an own registration)" })
  gatehouseAppClientId!: string | null;
  @Field(() => String, { description: 'The redirect URI Microsoft sends the admin consent answer to' }) consentRedirectUri!: string;
  @Field(() => [EntraConsentedTenant]) consentedTenants!: EntraConsentedTenant[];
}

@ObjectType({ simpleResolvers: true, description: "Microsoft's admin consent page to send the admin's browser to (single use, bound to this console session)" })
export class EntraAdminConsentStart {
  @Field(() => String) url!: string;
  @Field(() => DateTime) expiresAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A group of the Entra tenant, for picking the one to import' })
export class EntraGroup {
  @Field(() => ID, { description: 'Object id' }) id!: string;
  @Field(() => String) displayName!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => String, { nullable: true }) mail!: string | null;
}

@InputType()
export class EntraGroupSearchInput {
  @Field(() => String, { description: 'Tenant id (or verified domain)' }) tenantId!: string;
  @Field(() => String, { nullable: true, description: "Own registration's client id; omit to use Gatehouse's application (a consented tenant)" }) clientId?: string | null;
  @Field(() => String, { nullable: true, description: "Own registration's client secret (with clientId)" }) clientSecret?: string | null;
  @Field(() => String, { nullable: true, description: 'Words the display name starts with, or a group object id; empty: the first groups by name' }) search?: string | null;
  @Field(() => Int, { nullable: true, description: 'At most this many (1-50; default 5 without search, 25 with)' }) first?: number | null;
}
