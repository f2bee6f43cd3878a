/** Next hands pages their query as a plain object; the shared parsers take URLSearchParams. */
export function toSearchParams(query: Record<string, string | string[] | undefined>): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string') out.set(key, value);
    else if (Array.isArray(value) && value[0] !== undefined) out.set(key, value[0]);
  }
  return out;
}

export type PageQuery = Promise<Record<string, string | string[] | undefined>>;
