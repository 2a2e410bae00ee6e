import { fireEvent, render, screen, waitFor, within } from '@testing-library/react-native';

import { ApiError } from '../src/api';
import DemoScreen from '../src/DemoScreen';

function listOf(model, tier, titles) {
  return { user_id: 7, model, k: 2, tier, model_version: 1,
    items: titles.map((t, i) => ({ movie_id: i + (model === 'als' ? 1 : 10), title: t, year: 2000, genres: ['Drama'], score: 1, reason: null })) };
}

const comparison = (tier) => ({
  user_id: 7, k: 2, model_version: 1,
  accuracy: listOf('als', tier, ['Alpha', 'Beta']),
  discovery: listOf('diverse', tier, ['Gamma', 'Delta']),
  overlap: { count: 0, jaccard: 0, movie_ids: [] },
  accuracy_stats: { intra_list_diversity: 0.5, mean_popularity: 10, novelty: 2.5 },
  discovery_stats: { intra_list_diversity: 0.8, mean_popularity: 5, novelty: 4.0 },
});

function fakeClient(compare) {
  return () => ({
    sampleUsers: async () => ({ model_version: 1, user_ids: [7, 8], cold_start_example: 2147483640 }),
    compare,
  });
}

test('shows both lists for a user', async () => {
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(async () => comparison('personalised'))} />);
  await fireEvent.changeText(screen.getByTestId('user-id'), '7');
  await fireEvent.press(screen.getByTestId('show'));
  await waitFor(() => expect(screen.getByTestId('results')).toBeTruthy());
  expect(screen.getByText('Alpha (2000)')).toBeTruthy();
  expect(screen.getByText('Gamma (2000)')).toBeTruthy();
  expect(screen.getByTestId('overlap')).toBeTruthy();
  expect(screen.queryByTestId('cold-start-banner')).toBeNull();
});

test('a cold-start user shows the fallback clearly', async () => {
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(async () => comparison('popular'))} />);
  await waitFor(() => expect(screen.getByTestId('example-cold')).toBeTruthy());
  await fireEvent.press(screen.getByTestId('example-cold'));
  await waitFor(() => expect(screen.getByTestId('cold-start-banner')).toBeTruthy());
});

test('errors are visible, not silent', async () => {
  const failing = async () => { throw new ApiError('Cannot reach the server at http://x'); };
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(failing)} />);
  await fireEvent.changeText(screen.getByTestId('user-id'), '7');
  await fireEvent.press(screen.getByTestId('show'));
  await waitFor(() => expect(screen.getByTestId('error')).toBeTruthy());
  expect(screen.getByText('Cannot reach the server at http://x')).toBeTruthy();
});

test('idle state explains what to do', async () => {
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(async () => comparison('personalised'))} />);
  expect(screen.getByTestId('idle')).toBeTruthy();
});

test('a genre chip asks for lists scored for that genre', async () => {
  const calls = [];
  const compare = async (id, k, options) => {
    calls.push({ id, k, ...options });
    return comparison('personalised');
  };
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(compare)} />);
  await fireEvent.changeText(screen.getByTestId('user-id'), '7');
  await fireEvent.press(screen.getByTestId('show'));
  await waitFor(() => expect(screen.getByTestId('results')).toBeTruthy());
  await fireEvent.press(screen.getByTestId('genre-Comedy'));
  await waitFor(() => expect(screen.getByText(/Comedy only/)).toBeTruthy());
  expect(calls.map((c) => c.genre)).toEqual([null, 'Comedy']);
  expect(calls[1]).toMatchObject({ id: '7', k: 10 });
});

test('"more" appends the next page of both lists', async () => {
  const calls = [];
  const compare = async (id, k, options) => {
    calls.push(options);
    if (!options.offset) return comparison('personalised');
    return { ...comparison('personalised'), accuracy: listOf('als', 'personalised', ['Epsilon']), discovery: listOf('diverse', 'personalised', ['Zeta']), k: 10 };
  };
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(compare)} />);
  await fireEvent.changeText(screen.getByTestId('user-id'), '7');
  await fireEvent.press(screen.getByTestId('show'));
  await waitFor(() => expect(screen.getByTestId('more')).toBeTruthy());
  await fireEvent.press(screen.getByTestId('more'));
  await waitFor(() => expect(screen.getByText('Epsilon (2000)')).toBeTruthy());
  expect(screen.getByText('Alpha (2000)')).toBeTruthy();
  expect(screen.getByText('Zeta (2000)')).toBeTruthy();
  expect(calls[1]).toEqual({ genre: null, offset: 2, left: null, right: null });
});

test('appendPage joins the lists and recounts the overlap', () => {
  const { appendPage } = require('../src/DemoScreen');
  const first = comparison('personalised');
  const next = { ...comparison('personalised'), discovery: listOf('als', 'personalised', ['Alpha']) };
  const joined = appendPage(first, next);
  expect(joined.accuracy.items).toHaveLength(4);
  expect(joined.overlap.count).toBe(1);
  expect(joined.overlap.movie_ids).toEqual([1]);
  expect(joined.k).toBe(4);
});

test('the pickers set the model of each side, and the headings say which answered', async () => {
  const calls = [];
  const compare = async (id, k, options) => {
    calls.push(options);
    const data = comparison('personalised');
    return { ...data, accuracy: { ...data.accuracy, model: options.left ?? 'als' },
      discovery: { ...data.discovery, model: options.right ?? 'diverse' } };
  };
  await render(<DemoScreen initialApiUrl="http://x" makeClient={fakeClient(compare)} />);
  await fireEvent.changeText(screen.getByTestId('user-id'), '7');
  await fireEvent.press(screen.getByTestId('show'));
  await waitFor(() => expect(screen.getByTestId('results')).toBeTruthy());
  const heading = (side) => within(screen.getByTestId(side));
  expect(heading('accuracy').getByText('ALS')).toBeTruthy();
  expect(heading('discovery').getByText('Discovery')).toBeTruthy();
  await fireEvent.press(screen.getByTestId('left-ease'));
  await waitFor(() => expect(heading('accuracy').getByText('EASE')).toBeTruthy());
  await fireEvent.press(screen.getByTestId('right-ranker'));
  await waitFor(() => expect(heading('discovery').getByText('Two-stage ranker')).toBeTruthy());
  expect(calls.map((c) => [c.left, c.right])).toEqual([[null, null], ['ease', null], ['ease', 'ranker']]);
  expect(screen.getByTestId('accuracy-badge')).toHaveTextContent(/popularity 10/);
  expect(screen.getByTestId('discovery-badge')).toHaveTextContent(/novelty 4.0 bits/);
  await fireEvent.press(screen.getByTestId('more'));
  await waitFor(() => expect(calls).toHaveLength(4));
  expect(calls[3]).toMatchObject({ left: 'ease', right: 'ranker', offset: 2 });
});
