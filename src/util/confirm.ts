/**
 * Destructive core operations ask before they change anything, through a hook the CLI supplies (a
 * prompt on a terminal, `--yes` otherwise): the core decides what there is to confirm, the CLI how
 * to ask. A dry run never asks.
 */
export type Confirm<Plan> = (plan: Plan) => Promise<boolean>;

/** The operator said no: nothing changed. */
export interface Declined {
  declined: true;
}

export const DECLINED: Declined = Object.freeze({ declined: true });

export function isDeclined(r: object): r is Declined {
  return 'declined' in r && (r as Declined).declined === true;
}
