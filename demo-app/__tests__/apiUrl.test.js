import { DEFAULT_API_URL, chooseApiUrl } from '../src/apiUrl';

const served = { origin: 'http://127.0.0.1:8000', protocol: 'http:', search: '' };
const configured = 'http://192.168.1.20:8000';

describe('the API base URL', () => {
  test('the export served by recsys serve calls its own origin', () => {
    expect(chooseApiUrl({ platform: 'web', location: served, dev: false, configured })).toBe('http://127.0.0.1:8000');
    const other = { origin: 'https://demo.example.org:9443', protocol: 'https:', search: '' };
    expect(chooseApiUrl({ platform: 'web', location: other, dev: false, configured })).toBe('https://demo.example.org:9443');
  });

  test('?api= in the page URL wins, in production and in development', () => {
    const location = { ...served, search: '?api=http%3A%2F%2F127.0.0.1%3A9000&x=1' };
    expect(chooseApiUrl({ platform: 'web', location, dev: false, configured })).toBe('http://127.0.0.1:9000');
    expect(chooseApiUrl({ platform: 'web', location, dev: true, configured })).toBe('http://127.0.0.1:9000');
  });

  test("the Expo dev server's page uses app.json's extra.apiUrl, not its own origin", () => {
    const devServer = { origin: 'http://localhost:8081', protocol: 'http:', search: '' };
    expect(chooseApiUrl({ platform: 'web', location: devServer, dev: true, configured })).toBe(configured);
  });

  test('a page opened from a file has no origin to use', () => {
    const file = { origin: 'null', protocol: 'file:', search: '' };
    expect(chooseApiUrl({ platform: 'web', location: file, dev: false, configured })).toBe(configured);
  });

  test('a phone uses extra.apiUrl, whatever the build', () => {
    expect(chooseApiUrl({ platform: 'ios', location: served, dev: false, configured })).toBe(configured);
    expect(chooseApiUrl({ platform: 'android', dev: true, configured })).toBe(configured);
  });

  test('without extra.apiUrl the default is the local server', () => {
    expect(chooseApiUrl({ platform: 'android', dev: false })).toBe(DEFAULT_API_URL);
    expect(chooseApiUrl({ platform: 'web', location: { search: '' }, dev: true })).toBe(DEFAULT_API_URL);
  });
});
