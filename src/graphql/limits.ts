// Depth and cost limits, checked before anything runs.
import { getNamedType, getNullableType, GraphQLError, isListType, type GraphQLSchema, type ValidationRule } from 'graphql';
import { createRequire } from 'node:module';
import type { ComplexityEstimator } from 'graphql-query-complexity/cjs';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { ApolloServerPlugin } from '@apollo/server';
import { edgeError } from './errors.js';
import { DEFAULT_PAGE_SIZE } from './resolvers/paging.js';

// The CommonJS build, required: the ESM build imports 'graphql/index.mjs', a
// second copy of graphql next to the one type-graphql builds the schema with.
const { fieldExtensionsEstimator, getComplexity } = createRequire(import.meta.url)('graphql-query-complexity') as typeof import('graphql-query-complexity/cjs');

export const MAX_DEPTH = 12;
export const MAX_COST = 100_000;
/** Most field nodes (fragments spread out) the cost estimator walks before it refuses the query. */
export const MAX_QUERY_NODES = 10_000;
/** Assumed length of a list without a `first` argument (member.groups, place.locks...). */
export const LIST_FACTOR = 10;

/**
 * Cost of a field: 1, plus its children once per item it can return: `first`
 * items for a connection, LIST_FACTOR for a plain list. Introspection is free.
 */
const connectionEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  if (field.name.startsWith('__') || type.name.startsWith('__')) return 0;
  if (field.args.some((a) => a.name === 'first')) {
    const first = typeof args.first === 'number' ? args.first : DEFAULT_PAGE_SIZE;
    return 1 + childComplexity * Math.max(first, 1);
  }
  // A page's items (a connection's edges, a feed page's changes or entries) are already counted by its `first`.
  if (field.name === 'edges' || field.name === 'changes' || field.name === 'entries') return 1 + childComplexity;
  if (isListType(getNullableType(field.type)) && getNamedType(field.type) !== undefined) return 1 + childComplexity * LIST_FACTOR;
  return 1 + childComplexity;
};

export function depthLimitRule(): ValidationRule {
  // Reported as a validation error (400), not thrown (which Apollo answers 500).
  return maxDepthRule({
    n: MAX_DEPTH,
    ignoreIntrospection: true,
    flattenFragments: true,
    propagateOnRejection: false,
    onReject: [(ctx, err) => ctx?.reportError(err)],
  }) as unknown as ValidationRule;
}

export function queryCost(schema: GraphQLSchema, query: Parameters<typeof getComplexity>[0]['query'], variables?: Record<string, unknown>, operationName?: string): number {
  return getComplexity({ schema, query, variables, operationName, maxQueryNodes: MAX_QUERY_NODES, estimators: [fieldExtensionsEstimator(), connectionEstimator] });
}

/** Refuses operations costing more than MAX_COST (HTTP 400, code QUERY_TOO_COMPLEX). */
export function costLimitPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          let cost: number;
          try {
            cost = queryCost(schema, document, request.variables, request.operationName);
          } catch (e) {
            // Variables that do not coerce: execution reports them as BAD_USER_INPUT.
            if (e instanceof Error && e.message.startsWith('Variable ')) return;
            // Past MAX_QUERY_NODES (duplicated fields, fragments spread many times) the estimator gives up
            // with a GraphQLError of its own: the client's oversized query (400), not a fault of ours.
            if (e instanceof GraphQLError || (e instanceof Error && e.name === 'GraphQLError')) {
              throw edgeError(`The query has more than ${MAX_QUERY_NODES} fields once its fragments are spread: ask for less`, 'QUERY_TOO_COMPLEX', 400, {
                maxNodes: MAX_QUERY_NODES,
              });
            }
            throw e;
          }
          if (cost > MAX_COST) {
            throw edgeError(`The query costs ${cost}, more than the limit of ${MAX_COST}: ask for smaller pages or fewer nested lists`, 'QUERY_TOO_COMPLEX', 400, {
              cost,
              maxCost: MAX_COST,
            });
          }
        },
      };
    },
  };
}
