// Relay connections: edges { cursor node }, pageInfo, totalCount.
import { Field, Int, ObjectType, type ClassType } from 'type-graphql';

@ObjectType({ simpleResolvers: true, description: 'Relay page information' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean, { description: 'Always false: pages are read forwards with `after`' })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to read the next page' })
  endCursor!: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  readonly totalCount: number | null | Promise<number>;
}

export function connectionType<T extends object>(name: string, node: ClassType<T>, opts: { totalCount?: string } = {}): ClassType<Connection<T>> {
  @ObjectType(`${name}Edge`, { simpleResolvers: true })
  class EdgeClass {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { simpleResolvers: true })
  class ConnectionClass {
    @Field(() => [EdgeClass])
    edges!: Edge<T>[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { nullable: true, description: opts.totalCount ?? 'Number of items matching, over all pages' })
    totalCount!: number | null | Promise<number>;
  }
  return ConnectionClass;
}

/**
 * A connection. `totalCount` may be a function: it then runs (one count
 * statement) only when a client asks for the field. A page read without its
 * count (the query did not select totalCount: selectsTotalCount) passes
 * undefined.
 */
export function toConnection<T>(
  nodes: T[],
  cursors: string[],
  hasNextPage: boolean,
  totalCount: number | null | undefined | (() => Promise<number>),
): Connection<T> {
  return {
    edges: nodes.map((node, i) => ({ node, cursor: cursors[i]! })),
    pageInfo: { hasNextPage, hasPreviousPage: false, startCursor: cursors[0] ?? null, endCursor: cursors.at(-1) ?? null },
    get totalCount() {
      return typeof totalCount === 'function' ? totalCount() : (totalCount ?? null);
    },
  };
}
