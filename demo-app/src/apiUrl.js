/**
 * Which server the app talks to at start (editable in the app afterwards); the first that applies:
 *
 * 1. on the web, `?api=http://host:port` in the page URL;
 * 2. on the web, a production build (the export that `recsys serve` serves at /app): the page's
 *    own origin, so the app calls the API that served it and no CORS setting is needed;
 * 3. app.json's `extra.apiUrl` (the Expo dev server on the web, Expo Go on a phone);
 * 4. http://127.0.0.1:8000.
 */

export const DEFAULT_API_URL = 'http://127.0.0.1:8000';

/**
 * @param {object} options
 * @param {string} options.platform  Platform.OS ('web', 'ios', 'android')
 * @param {{origin?: string, protocol?: string, search?: string}} [options.location]  window.location on the web
 * @param {boolean} options.dev  a development build (`__DEV__`: the Expo dev server, not the export)
 * @param {string} [options.configured]  app.json's extra.apiUrl
 */
export function chooseApiUrl({ platform, location, dev, configured }) {
  if (platform === 'web' && location) {
    const fromQuery = new URLSearchParams(location.search ?? '').get('api');
    if (fromQuery) return fromQuery;
    const httpPage = location.protocol === 'http:' || location.protocol === 'https:';
    if (!dev && httpPage && location.origin && location.origin !== 'null') return location.origin;
  }
  return configured || DEFAULT_API_URL;
}
