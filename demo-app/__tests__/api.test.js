import { ApiError, createApiClient, normaliseBaseUrl, parseUserId } from '../src/api';

function jsonResponse(status, body) {
  return { ok: status < 400, status, json: async () => body };
}

describe('api client', () => {
  test('calls /compare with the parsed id and returns the body', async () => {
    const fetchImpl = jest.fn(async () => jsonResponse(200, { user_id: 42 }));
    const client = createApiClient('http://localhost:8000/', fetchImpl);
    await expect(client.compare(' 42 ', 10)).resolves.toEqual({ user_id: 42 });
    expect(fetchImpl.mock.calls[0][0]).toBe('http://localhost:8000/compare/42?k=10');
  });

  test('passes a genre filter and an offset to /compare', async () => {
    const fetchImpl = jest.fn(async () => jsonResponse(200, {}));
    const client = createApiClient('http://x', fetchImpl);
    await client.compare(7, 10, { genre: 'Sci-Fi', offset: 20 });
    expect(fetchImpl.mock.calls[0][0]).toBe('http://x/compare/7?k=10&offset=20&genre=Sci-Fi');
  });

  test('names the models of the two sides only when chosen', async () => {
    const fetchImpl = jest.fn(async () => jsonResponse(200, {}));
    const client = createApiClient('http://x', fetchImpl);
    await client.compare(7, 10, { left: 'ease', right: 'ranker' });
    await client.compare(7, 10, { right: 'popular' });
    expect(fetchImpl.mock.calls[0][0]).toBe('http://x/compare/7?k=10&left=ease&right=ranker');
    expect(fetchImpl.mock.calls[1][0]).toBe('http://x/compare/7?k=10&right=popular');
  });

  test("surfaces the server's error detail", async () => {
    const fetchImpl = async () => jsonResponse(400, { status_code: 400, detail: 'k must be at most 20' });
    const client = createApiClient('http://x', fetchImpl);
    await expect(client.compare(1, 50)).rejects.toThrow('k must be at most 20');
  });

  test('a network failure says the server is unreachable', async () => {
    const fetchImpl = async () => {
      throw new TypeError('Failed to fetch');
    };
    const client = createApiClient('http://127.0.0.1:9', fetchImpl);
    await expect(client.health()).rejects.toThrow(/Cannot reach the server at http:\/\/127.0.0.1:9/);
  });

  test('a non-JSON error still gives a message', async () => {
    const fetchImpl = async () => ({ ok: false, status: 502, json: async () => { throw new Error('html'); } });
    await expect(createApiClient('http://x', fetchImpl).health()).rejects.toThrow('The server answered 502');
  });

  test('bad ids are refused before any request', async () => {
    const fetchImpl = jest.fn();
    const client = createApiClient('http://x', fetchImpl);
    for (const bad of ['', 'abc', '-3', '0', '1.5', '99999999999']) {
      await expect(client.compare(bad)).rejects.toBeInstanceOf(ApiError);
    }
    expect(fetchImpl).not.toHaveBeenCalled();
    expect(parseUserId('7')).toBe(7);
  });

  test('the base URL must be http(s)', () => {
    expect(normaliseBaseUrl('https://api.example.org//')).toBe('https://api.example.org');
    expect(() => normaliseBaseUrl('localhost:8000')).toThrow('must start with http');
  });
});
