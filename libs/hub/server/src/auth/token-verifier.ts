/* The hub's tokens are checked by the shared implementation (libs/shared/auth), as the agent's local API's are. */
export { bearerToken, type Principal, type TokenScope, TokenVerifier } from '@natlens/shared-auth';
