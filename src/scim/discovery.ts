// The SCIM discovery documents (RFC 7644 §4): ServiceProviderConfig, Schemas
// and ResourceTypes. No token needed: they describe the service, not a tenant.
import { clientIp } from '../http/client-ip.js';
import { DomainError } from '../domain/index.js';
import { scimError } from './errors.js';
import { listResponse } from './presenters.js';
import { resourceTypeDocs, schemaDocs, serviceProviderConfig, type Doc } from './schemas.js';
import { send, sendError, SCIM_BASE_PATH, type Call, type EdgeContext, type Route } from './transport.js';

/** The discovery routes by their first path segment (lower-cased). */
export function discoveryRoutes({ domain, base }: EdgeContext) {
  const discovery = (label: string, doc: (call: Call) => Doc | undefined | Promise<Doc | undefined>, what = 'Document'): Route => ({
    label: `${SCIM_BASE_PATH}${label}`,
    methods: {},
    async open(call) {
      const d = await doc(call);
      if (d) send(call.res, 200, d);
      else sendError(call.res, scimError(404, `${what} ${call.id} not found`));
    },
  });

  /**
   * The custom attribute names of the organisation whose token came with a
   * discovery request (which needs none): the User schema lists them under
   * `metadata`. A missing or refused token just lists none.
   */
  async function metadataKeysOf(call: Call): Promise<string[]> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(call.req.headers.authorization ?? '');
    if (!m) return [];
    try {
      return await domain.members.metadataKeys(await domain.organizations.authenticateScim(m[1]!, () => clientIp(call.req)));
    } catch (e) {
      if (e instanceof DomainError) return [];
      throw e;
    }
  }

  const byId = (docs: Doc[], id: string | undefined) => docs.find((d) => String(d.id).toLowerCase() === id?.toLowerCase());
  return {
    serviceproviderconfig: [discovery('/ServiceProviderConfig', () => serviceProviderConfig(base))],
    schemas: [
      discovery('/Schemas', async (call) => listOf(schemaDocs(base, await metadataKeysOf(call)))),
      discovery('/Schemas/:id', async (call) => byId(schemaDocs(base, await metadataKeysOf(call)), call.id), 'Schema'),
    ],
    resourcetypes: [
      discovery('/ResourceTypes', () => listOf(resourceTypeDocs(base))),
      discovery('/ResourceTypes/:id', (call) => byId(resourceTypeDocs(base), call.id), 'Resource type'),
    ],
  } as const;
}

function listOf(docs: Doc[]): Doc {
  return listResponse(docs, docs.length, 1);
}
