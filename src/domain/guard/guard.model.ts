// The mass-deprovision guard's shapes (README, Mass-deprovision guard).

/** Per organisation; on by default. */
export interface GuardSettings {
  readonly enabled: boolean;
  /** Hold beyond this share of the organisation's active members… */
  readonly thresholdPercent: number;
  /** …and beyond at least this many members… */
  readonly minCount: number;
  /** …revoked by one source within this sliding window. */
  readonly windowMinutes: number;
}

export const DEFAULT_GUARD_SETTINGS: GuardSettings = { enabled: true, thresholdPercent: 10, minCount: 25, windowMinutes: 60 };

/** The automated sources the guard watches; an admin's own deliberate changes are never held. */
export type HeldSource = 'scim' | 'import';
/** deactivate: active → false; delete: the member removed; group_remove: a membership that grants access removed. */
export type HeldKind = 'deactivate' | 'delete' | 'group_remove';

export interface HeldChange {
  readonly id: string;
  readonly source: HeldSource;
  /** Who asked (the SCIM token's label, the import's name). */
  readonly actorLabel: string;
  readonly kind: HeldKind;
  readonly memberId: string;
  readonly memberLabel: string | null;
  readonly groupId: string | null;
  readonly status: 'held' | 'approved' | 'discarded';
  readonly heldAt: Date;
  /** How often the same change was asked for again while held (Entra retrying, the next import run). */
  readonly repeats: number;
  readonly lastAskedAt: Date;
  readonly decidedAt: Date | null;
  readonly decidedBy: string | null;
}

export interface GuardDecision {
  readonly approved: number;
  readonly discarded: number;
  /** Members whose access went (approve only). */
  readonly deactivated: number;
  readonly deleted: number;
  readonly membershipsRemoved: number;
}
