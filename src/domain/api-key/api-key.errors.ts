// API keys: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type ApiKeyErrorCode =
  /** The API key is missing, wrong or revoked. */
  | 'invalid_api_key';
