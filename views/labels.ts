/** Display names for stored values. */

/** How each role is named on screen. */
export const ROLE_LABELS = {
  super_admin: "Super admin",
  admin: "Admin",
  technician: "Technician",
} as const;
