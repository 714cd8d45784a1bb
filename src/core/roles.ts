/** The two roles: admin and staging. Admins hold the staging role too. */
export type Role = 'admin' | 'staging';

/** Who holds which role, from `ADMIN_TELEGRAM_IDS` and `STAGING_TELEGRAM_IDS`. */
export type AccessList = { adminIds: readonly number[]; stagingIds: readonly number[] };

/** The roles a Telegram user holds, strongest first; empty for a stranger. */
export function rolesOf(userId: number, access: AccessList): Role[] {
  if (access.adminIds.includes(userId)) return ['admin', 'staging'];
  if (access.stagingIds.includes(userId)) return ['staging'];
  return [];
}

/** Whether the user holds `role` (admins hold every role). */
export function hasRole(userId: number, role: Role, access: AccessList): boolean {
  return rolesOf(userId, access).includes(role);
}
