/** Every API error of the hub and the agent: a status, a machine code and a sentence that says what to fix. */
export interface ApiError {
  status: number;
  code: string;
  message: string;
}
