// Integration health (the console's strip, README Admin console): each
// finding of src/domain/health/integration-health.ts as it is, without the
// console's words. Facts a finding does not have are null.
import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTime } from './scalars.js';
import { DeprovisionGuard } from './guard.type.js';
import { ImportIntegration } from './import.type.js';

export enum HealthKey {
  SCIM = 'scim',
  SAML_METADATA = 'saml_metadata',
  CERTIFICATES = 'certificates',
  SIGN_IN = 'sign_in',
  IMPORT = 'import',
  GUARD = 'guard',
}
registerEnumType(HealthKey, { name: 'HealthKey', description: 'The integration a finding judges' });

export enum HealthStatus {
  OK = 'ok',
  WARN = 'warn',
  ERROR = 'error',
  OFF = 'off',
}
registerEnumType(HealthStatus, { name: 'HealthStatus', description: "How serious: the console's green, amber, red or grey" });

export enum HealthState {
  DISABLED = 'disabled',
  TOKEN_NEVER_USED = 'token_never_used',
  PREVIOUS_TOKEN_IN_USE = 'previous_token_in_use',
  REFUSED = 'refused',
  USED = 'used',
  NOT_IMPORTED = 'not_imported',
  REFRESH_FAILED = 'refresh_failed',
  IMPORTED = 'imported',
  NO_SP_CERTIFICATE = 'no_sp_certificate',
  EXPIRING = 'expiring',
  VALID = 'valid',
  NOT_SET_UP = 'not_set_up',
  NEVER_SIGNED_IN = 'never_signed_in',
  SIGNING_IN = 'signing_in',
  NONE = 'none',
  FAILING = 'failing',
  NOT_RUN = 'not_run',
  SUCCEEDED = 'succeeded',
  HOLDING = 'holding',
  IDLE = 'idle',
}
registerEnumType(HealthState, {
  name: 'HealthState',
  description:
    'What state the integration is in. scim: DISABLED, TOKEN_NEVER_USED, PREVIOUS_TOKEN_IN_USE, REFUSED, USED; saml_metadata: NOT_IMPORTED, REFRESH_FAILED, IMPORTED; certificates: NO_SP_CERTIFICATE, EXPIRING, VALID; sign_in: NOT_SET_UP, REFUSED, NEVER_SIGNED_IN, SIGNING_IN; import: NONE, FAILING, NOT_RUN, SUCCEEDED; guard: HOLDING, IDLE',
});

@ObjectType({ simpleResolvers: true, description: 'A certificate with a warning' })
export class HealthCertificateWarning {
  @Field(() => String, { description: 'idp or sp' }) who!: string;
  @Field(() => String) warning!: string;
}

@ObjectType({ simpleResolvers: true, description: 'One integration judged: its status, its state and the facts behind it (null when the state has none)' })
export class HealthItem {
  @Field(() => HealthKey) key!: HealthKey;
  @Field(() => HealthStatus) status!: HealthStatus;
  @Field(() => HealthState) state!: HealthState;
  @Field(() => String, { nullable: true, description: 'scim: the current token' }) tokenPrefix!: string | null;
  @Field(() => String, { nullable: true, description: 'scim PREVIOUS_TOKEN_IN_USE: the token Entra still uses' }) previousTokenPrefix!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'scim PREVIOUS_TOKEN_IN_USE' }) previousLastUsedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'scim PREVIOUS_TOKEN_IN_USE: when the previous token ends' }) previousExpiresAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'scim REFUSED and USED: the token’s last use' }) lastUsedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'REFUSED (scim, sign_in): the latest refusal, within the last day' }) refusedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'REFUSED (scim, sign_in): why' }) reason!: string | null;
  @Field(() => String, { nullable: true, description: 'sign_in REFUSED: who was refused' }) who!: string | null;
  @Field(() => String, { nullable: true, description: 'saml_metadata REFRESH_FAILED: the refresh error' }) error!: string | null;
  @Field(() => String, { nullable: true, description: 'saml_metadata IMPORTED' }) idpEntityId!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'saml_metadata IMPORTED: when the metadata was last fetched' }) fetchedAt!: Date | null;
  @Field(() => Boolean, { nullable: true, description: 'saml_metadata IMPORTED: from a metadata URL (refreshed daily)' }) fromUrl!: boolean | null;
  @Field(() => Boolean, { nullable: true, description: "saml_metadata IMPORTED: the URL's daily refresh has not run for two days" }) stale!: boolean | null;
  @Field(() => [HealthCertificateWarning], { nullable: true, description: 'certificates EXPIRING: the IdP and active SP certificates with a warning' })
  certificates!: HealthCertificateWarning[] | null;
  @Field(() => Int, { nullable: true, description: 'certificates VALID: days until the soonest expiry' }) soonestDaysLeft!: number | null;
  @Field(() => DateTime, { nullable: true, description: 'sign_in SIGNING_IN: the last successful sign-in' }) lastAt!: Date | null;
  @Field(() => [ImportIntegration], { nullable: true, description: 'import FAILING: the integrations whose last run failed' }) failing!: ImportIntegration[] | null;
  @Field(() => [ImportIntegration], { nullable: true, description: 'import NOT_RUN: the integrations never run' }) notRun!: ImportIntegration[] | null;
  @Field(() => Int, { nullable: true, description: 'import FAILING and SUCCEEDED: how many integrations' }) total!: number | null;
  @Field(() => DateTime, { nullable: true, description: 'import SUCCEEDED: the latest run' }) lastRunAt!: Date | null;
  @Field(() => Int, { nullable: true, description: 'guard HOLDING: changes held' }) held!: number | null;
  @Field(() => DeprovisionGuard, { nullable: true, description: "guard: the guard's settings and how many changes it holds" }) guard!: DeprovisionGuard | null;
}
