/**
 * The Pulumi program (bucket, runner container, schedule) arrives with its own issue. Until then the
 * stack is only its configuration: the runner CLI (runner/) does the work and reads the same names
 * (container, store) from OWUI_BACKUP_CONTAINER and OWUI_BACKUP_STORE.
 */
export const program = "owui-backup";
