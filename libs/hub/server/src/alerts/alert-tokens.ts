/** Injection token of the alert store (alert-repository.ts). */
export const ALERT_REPOSITORY = Symbol('ALERT_REPOSITORY');
