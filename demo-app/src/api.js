/**
 * A small client for the recommender API (/compare with genre, paging and the two models, /users/sample,
 * /health).
 * Every failure becomes an ApiError whose message can be shown to a person as is.
 */

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export const TIER_LABELS = {
  personalised: 'Personalised for this user',
  'fold-in': "From this user's new ratings (fold-in)",
  popular: 'New or unknown user: most popular movies (cold-start fallback)',
};

export function normaliseBaseUrl(url) {
  const trimmed = String(url ?? '').trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(trimmed)) {
    throw new ApiError('The server URL must start with http:// or https://');
  }
  return trimmed;
}

export function parseUserId(text) {
  const value = String(text ?? '').trim();
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 2147483647) {
    throw new ApiError('A user id is a whole number between 1 and 2147483647');
  }
  return Number(value);
}

/**
 * The query string of /compare: page length, offset, an optional genre filter and the models of
 * the two sides (none: the server's defaults, its default model and the discovery model).
 */
export function compareQuery(k, genre, offset, left = null, right = null) {
  const params = [`k=${k}`];
  if (offset) params.push(`offset=${offset}`);
  if (genre) params.push(`genre=${encodeURIComponent(genre)}`);
  if (left) params.push(`left=${encodeURIComponent(left)}`);
  if (right) params.push(`right=${encodeURIComponent(right)}`);
  return params.join('&');
}

export function createApiClient(baseUrl, fetchImpl = globalThis.fetch, timeoutMs = 8000) {
  const base = normaliseBaseUrl(baseUrl);

  async function request(path) {
    const controller = typeof AbortController !== 'undefined' ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
    let response;
    try {
      response = await fetchImpl(base + path, { signal: controller?.signal, headers: { Accept: 'application/json' } });
    } catch (error) {
      const reason = error?.name === 'AbortError' ? `no answer within ${timeoutMs / 1000} s` : error?.message || 'network error';
      throw new ApiError(`Cannot reach the server at ${base} (${reason}). Is \`recsys serve\` running?`);
    } finally {
      if (timer) clearTimeout(timer);
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      throw new ApiError(body?.detail ?? `The server answered ${response.status}`, response.status);
    }
    return body;
  }

  return {
    baseUrl: base,
    compare: async (userId, k = 10, { genre = null, offset = 0, left = null, right = null } = {}) =>
      request(`/compare/${parseUserId(userId)}?${compareQuery(k, genre, offset, left, right)}`),
    sampleUsers: (n = 5) => request(`/users/sample?n=${n}`),
    health: () => request('/health'),
  };
}
