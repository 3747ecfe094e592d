/** The version of this build of Assent, recorded in backups and served in metrics. */
export const ASSENT_VERSION = "0.2.0-dev";
