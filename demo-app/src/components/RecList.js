import { StyleSheet, Text, View } from 'react-native';

import { TIER_LABELS } from '../api';

/**
 * One recommendation list: its tier, a badge with its mean popularity and novelty, and its movies
 * (title, year, genres, reason); a movie also in the other list is marked ◆.
 */
export default function RecList({ heading, caption, list, stats, shared = new Set(), testID }) {
  const items = list?.items ?? [];
  return (
    <View style={styles.card} testID={testID}>
      <Text style={styles.heading}>{heading}</Text>
      <Text style={styles.caption}>{caption}</Text>
      {list ? (
        <Text style={[styles.tier, list.tier !== 'personalised' && styles.fallback]} testID={`${testID}-tier`}>
          {TIER_LABELS[list.tier] ?? list.tier}
        </Text>
      ) : null}
      {stats ? (
        <View style={styles.badges} testID={`${testID}-badge`}>
          <Text style={styles.badge} accessibilityLabel="mean popularity: users who liked each movie">
            popularity {formatNumber(stats.mean_popularity, 0)}
          </Text>
          <Text style={styles.badge} accessibilityLabel="novelty in bits: higher is less known">
            novelty {formatNumber(stats.novelty, 1)} bits
          </Text>
          <Text style={styles.badge} accessibilityLabel="intra-list diversity of genres">
            diversity {formatNumber(stats.intra_list_diversity)}
          </Text>
        </View>
      ) : null}
      {items.length === 0 ? (
        <Text style={styles.empty} testID={`${testID}-empty`}>No movies to show for this user.</Text>
      ) : (
        items.map((item, index) => (
          <View key={item.movie_id} style={styles.row} testID={`${testID}-item`} dataSet={{ movieId: String(item.movie_id) }}>
            <Text style={styles.rank}>{index + 1}</Text>
            <View style={styles.body}>
              <Text style={styles.title} testID={`${testID}-title`}>
                {item.title}
                {item.year ? ` (${item.year})` : ''}
                {shared.has(item.movie_id) ? '  ◆' : ''}
              </Text>
              {shared.has(item.movie_id) ? (
                <Text style={styles.shared} testID={`${testID}-shared`}>in both lists</Text>
              ) : null}
              <Text style={styles.genres}>{item.genres.length ? item.genres.join(' · ') : 'no genres listed'}</Text>
              {item.reason ? (
                <Text style={styles.reason} testID={`${testID}-reason`}>
                  Because you liked <Text style={styles.reasonTitle}>{item.reason.title}</Text>
                </Text>
              ) : null}
            </View>
          </View>
        ))
      )}
    </View>
  );
}

function formatNumber(value, digits = 2) {
  return value === null || value === undefined ? '–' : Number(value).toFixed(digits);
}

const styles = StyleSheet.create({
  card: { flex: 1, backgroundColor: 'white', borderRadius: 10, padding: 14, margin: 6, minWidth: 280 },
  heading: { fontSize: 18, fontWeight: '700' },
  caption: { color: '#555', marginBottom: 6 },
  tier: { color: '#1b6e3a', marginBottom: 4 },
  fallback: { color: '#8a4b00', fontWeight: '700' },
  badges: { flexDirection: 'row', flexWrap: 'wrap', marginBottom: 8 },
  badge: { backgroundColor: '#eef2fb', color: '#234', fontSize: 12, borderRadius: 10, paddingVertical: 2,
    paddingHorizontal: 8, marginRight: 6, marginTop: 2 },
  shared: { color: '#7a5c00', fontSize: 11 },
  reasonTitle: { fontStyle: 'italic' },
  empty: { color: '#777', fontStyle: 'italic', paddingVertical: 12 },
  row: { flexDirection: 'row', paddingVertical: 6, borderTopWidth: 1, borderTopColor: '#eee' },
  rank: { width: 26, color: '#999', fontWeight: '700' },
  body: { flex: 1 },
  title: { fontWeight: '600' },
  genres: { color: '#666', fontSize: 12 },
  reason: { color: '#36c', fontSize: 12 },
});
