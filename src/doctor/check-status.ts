/**
 * The words doctor prints in its status column, and what each means. The
 * README's list and `doctor --help` are made from this one list.
 */
export const CHECK_STATUSES = [
  { status: 'ok', meaning: 'present and working' },
  { status: 'missing', meaning: 'not found or not working; the fix says how to get it' },
  { status: 'warning', meaning: 'works, with a limit worth knowing (e.g. no usable KVM: guests run under TCG)' },
  { status: 'not configured', meaning: 'a licensed target without a disk image set (its scenarios are skipped)' },
  { status: 'not prepared', meaning: 'a licensed target whose image is set but not prepared by retrolab image prepare' },
] as const;

export type CheckStatus = (typeof CHECK_STATUSES)[number]['status'];
