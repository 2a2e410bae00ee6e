import { StyleSheet, Text, View } from 'react-native';

import { TIER_LABELS } from '../api';

/** One recommendation list: its tier, its stats and its movies (title, year, genres, reason). */
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
        <Text style={styles.stats}>
          diversity {formatNumber(stats.intra_list_diversity)} · mean popularity {formatNumber(stats.mean_popularity, 0)}
        </Text>
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
              <Text style={styles.genres}>{item.genres.length ? item.genres.join(' · ') : 'no genres listed'}</Text>
              {item.reason ? <Text style={styles.reason}>Because you liked {item.reason.title}</Text> : null}
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
  stats: { color: '#555', fontSize: 12, marginBottom: 8 },
  empty: { color: '#777', fontStyle: 'italic', paddingVertical: 12 },
  row: { flexDirection: 'row', paddingVertical: 6, borderTopWidth: 1, borderTopColor: '#eee' },
  rank: { width: 26, color: '#999', fontWeight: '700' },
  body: { flex: 1 },
  title: { fontWeight: '600' },
  genres: { color: '#666', fontSize: 12 },
  reason: { color: '#36c', fontSize: 12 },
});
