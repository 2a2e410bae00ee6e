import { render, screen } from '@testing-library/react-native';

import RecList from '../src/components/RecList';

const list = {
  user_id: 1, model: 'als', k: 2, tier: 'personalised', model_version: 3,
  items: [
    { movie_id: 1036, title: 'Die Hard', year: 1988, genres: ['Action', 'Thriller'], score: 1.2,
      reason: { movie_id: 2000, title: 'Lethal Weapon' } },
    { movie_id: 5, title: 'Unknown Film', year: null, genres: [], score: null, reason: null },
  ],
};

test('renders titles, years, genres, reasons, the tier, the badge and the overlap marker', async () => {
  await render(<RecList heading="Accuracy" caption="ALS" list={list}
    stats={{ intra_list_diversity: 0.71, mean_popularity: 120.4, novelty: 3.14 }}
    shared={new Set([1036])} testID="accuracy" />);
  expect(screen.getByText('Die Hard (1988)  ◆')).toBeTruthy();
  expect(screen.getAllByTestId('accuracy-shared')).toHaveLength(1);
  expect(screen.getByText('Action · Thriller')).toBeTruthy();
  expect(screen.getByTestId('accuracy-reason')).toHaveTextContent('Because you liked Lethal Weapon');
  expect(screen.getAllByTestId('accuracy-reason')).toHaveLength(1); // no reason: nothing shown
  expect(screen.getByText('Unknown Film')).toBeTruthy();
  expect(screen.getByText('no genres listed')).toBeTruthy();
  expect(screen.getByText('Personalised for this user')).toBeTruthy();
  expect(screen.getByText('popularity 120')).toBeTruthy();
  expect(screen.getByText('novelty 3.1 bits')).toBeTruthy();
  expect(screen.getByText('diversity 0.71')).toBeTruthy();
});

test('shows the fallback tier and an empty state', async () => {
  await render(<RecList heading="Discovery" caption="" list={{ ...list, tier: 'popular', items: [] }} testID="discovery" />);
  expect(screen.getByText(/cold-start fallback/)).toBeTruthy();
  expect(screen.getByTestId('discovery-empty')).toBeTruthy();
});
