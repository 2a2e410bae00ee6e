import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  ActivityIndicator,
  Pressable,
  ScrollView,
  StyleSheet,
  Text,
  TextInput,
  View,
  useWindowDimensions,
} from 'react-native';

import { ApiError, createApiClient } from './api';
import RecList from './components/RecList';

const WIDE = 720;
/** Genre chips: the lists are scored again for the genre (not the first page post-filtered). */
export const GENRES = ['Action', 'Comedy', 'Drama', 'Romance', 'Sci-Fi', 'Horror', 'Animation', 'Documentary'];
const PAGE = 10;
/** How the API's model names read in a caption (the accuracy list is the server's default model). */
export const MODEL_NAMES = {
  als: 'ALS', ease: 'EASE', itemknn: 'ItemKNN', popular: 'Popular', hybrid: 'Hybrid', ranker: 'Two-stage ranker',
};

/** Both lists of ``more`` appended to those of ``data`` (the next page of the same comparison). */
export function appendPage(data, more) {
  const join = (a, b) => ({ ...a, items: [...a.items, ...b.items] });
  const accuracy = join(data.accuracy, more.accuracy);
  const discovery = join(data.discovery, more.discovery);
  const ids = new Set(accuracy.items.map((i) => i.movie_id));
  const common = discovery.items.map((i) => i.movie_id).filter((id) => ids.has(id));
  return { ...data, k: data.k + more.k, accuracy, discovery, overlap: { ...data.overlap, count: common.length, movie_ids: common } };
}

/**
 * Enter a user id, see the server's default model (accuracy) and diverse (discovery) lists side by side
 * (stacked on a narrow screen), their overlap and which tier answered.
 */
export default function DemoScreen({ initialApiUrl, makeClient = createApiClient }) {
  const [apiUrl, setApiUrl] = useState(initialApiUrl);
  const [userId, setUserId] = useState('');
  const [examples, setExamples] = useState(null);
  const [state, setState] = useState({ status: 'idle' });
  const [genre, setGenre] = useState(null);
  const { width } = useWindowDimensions();

  const client = useMemo(() => {
    try {
      return makeClient(apiUrl);
    } catch (error) {
      return { error };
    }
  }, [apiUrl, makeClient]);

  useEffect(() => {
    let cancelled = false;
    setExamples(null);
    if (client.error) return undefined;
    client
      .sampleUsers(5)
      .then((sample) => !cancelled && setExamples(sample))
      .catch(() => !cancelled && setExamples({ user_ids: [], cold_start_example: null }));
    return () => {
      cancelled = true;
    };
  }, [client]);

  const show = useCallback(
    async (id = userId, chosenGenre = genre) => {
      if (client.error) {
        setState({ status: 'error', message: client.error.message });
        return;
      }
      setUserId(String(id));
      setGenre(chosenGenre);
      setState({ status: 'loading' });
      try {
        const data = await client.compare(id, PAGE, { genre: chosenGenre });
        setState({ status: 'done', data, userId: id, genre: chosenGenre });
      } catch (error) {
        setState({ status: 'error', message: error instanceof ApiError ? error.message : String(error) });
      }
    },
    [client, userId, genre],
  );

  const more = useCallback(async () => {
    if (state.status !== 'done') return;
    setState({ ...state, loadingMore: true });
    try {
      const next = await client.compare(state.userId, PAGE, { genre: state.genre, offset: state.data.k });
      setState({ ...state, data: appendPage(state.data, next), loadingMore: false });
    } catch (error) {
      setState({ status: 'error', message: error instanceof ApiError ? error.message : String(error) });
    }
  }, [client, state]);

  return (
    <ScrollView contentContainerStyle={styles.page}>
      <Text style={styles.h1}>Accuracy vs discovery</Text>
      <Text style={styles.lead}>
        The same user, two recommenders: the model that scored best on validation (most likely to be watched) and ALS re-ranked for diversity.
      </Text>

      <View style={styles.form}>
        <Text style={styles.label}>Server</Text>
        <TextInput style={styles.input} value={apiUrl} onChangeText={setApiUrl} autoCapitalize="none"
          autoCorrect={false} testID="api-url" accessibilityLabel="Server URL" />
        <Text style={styles.label}>User id</Text>
        <View style={styles.inline}>
          <TextInput style={[styles.input, styles.grow]} value={userId} onChangeText={setUserId}
            keyboardType="number-pad" placeholder="e.g. 42" testID="user-id" accessibilityLabel="User id"
            onSubmitEditing={() => show()} />
          <Pressable style={styles.button} onPress={() => show()} testID="show" accessibilityRole="button">
            <Text style={styles.buttonText}>Show</Text>
          </Pressable>
        </View>
        <View style={styles.inline} testID="examples">
          {examples === null ? <Text style={styles.hint}>Loading example users…</Text> : null}
          {examples?.user_ids?.map((id) => (
            <Pressable key={id} style={styles.chip} onPress={() => show(id)} testID={`example-${id}`}>
              <Text>{id}</Text>
            </Pressable>
          ))}
          {examples?.cold_start_example ? (
            <Pressable style={styles.chip} onPress={() => show(examples.cold_start_example)} testID="example-cold">
              <Text>new user</Text>
            </Pressable>
          ) : null}
        </View>
        <Text style={styles.label}>Genre</Text>
        <View style={styles.inline} testID="genres">
          {[null, ...GENRES].map((g) => (
            <Pressable key={g ?? 'all'} style={[styles.chip, genre === g && styles.chipOn]}
              onPress={() => (userId ? show(userId, g) : setGenre(g))} testID={`genre-${g ?? 'all'}`}
              accessibilityRole="button" accessibilityState={{ selected: genre === g }}>
              <Text>{g ?? 'All'}</Text>
            </Pressable>
          ))}
        </View>
      </View>

      {state.status === 'idle' ? (
        <Text style={styles.hint} testID="idle">Enter a user id (or pick an example) to compare the two lists.</Text>
      ) : null}
      {state.status === 'loading' ? (
        <View style={styles.inline} testID="loading">
          <ActivityIndicator />
          <Text style={styles.hint}>  Loading recommendations…</Text>
        </View>
      ) : null}
      {state.status === 'error' ? (
        <View style={styles.error} testID="error">
          <Text style={styles.errorText}>{state.message}</Text>
          <Pressable onPress={() => show()} testID="retry"><Text style={styles.link}>Try again</Text></Pressable>
        </View>
      ) : null}
      {state.status === 'done' ? <Results data={state.data} genre={state.genre} wide={width >= WIDE} /> : null}
      {state.status === 'done' && state.data.accuracy.items.length + state.data.discovery.items.length > 0 ? (
        <Pressable style={[styles.button, styles.more]} onPress={more} disabled={state.loadingMore} testID="more"
          accessibilityRole="button">
          <Text style={styles.buttonText}>{state.loadingMore ? 'Loading…' : `More (${PAGE} each)`}</Text>
        </Pressable>
      ) : null}
    </ScrollView>
  );
}

function Results({ data, genre, wide }) {
  const shared = new Set(data.overlap.movie_ids);
  const coldStart = data.accuracy.tier === 'popular';
  return (
    <View testID="results">
      {coldStart ? (
        <Text style={styles.banner} testID="cold-start-banner">
          User {data.user_id} is unknown to the models: both lists fall back to the most popular movies.
        </Text>
      ) : null}
      <Text style={styles.hint} testID="overlap">
        {data.overlap.count} of {data.k} movies in both lists (◆) · model version {data.model_version}
        {genre ? ` · ${genre} only` : ''}
      </Text>
      <View style={wide ? styles.side : styles.stack}>
        <RecList heading="Accuracy" caption={`${MODEL_NAMES[data.accuracy.model] || data.accuracy.model}: what you are most likely to watch`} list={data.accuracy}
          stats={data.accuracy_stats} shared={shared} testID="accuracy" />
        <RecList heading="Discovery" caption="ALS re-ranked for diversity" list={data.discovery}
          stats={data.discovery_stats} shared={shared} testID="discovery" />
      </View>
    </View>
  );
}

const styles = StyleSheet.create({
  page: { padding: 16, maxWidth: 1100, width: '100%', alignSelf: 'center' },
  h1: { fontSize: 26, fontWeight: '800' },
  lead: { color: '#444', marginVertical: 8 },
  form: { backgroundColor: 'white', borderRadius: 10, padding: 12, marginBottom: 12 },
  label: { fontWeight: '600', marginTop: 6 },
  input: { borderWidth: 1, borderColor: '#ccd', borderRadius: 6, padding: 8, marginVertical: 4, backgroundColor: 'white' },
  grow: { flex: 1 },
  inline: { flexDirection: 'row', alignItems: 'center', flexWrap: 'wrap' },
  button: { backgroundColor: '#2d5bd7', borderRadius: 6, paddingVertical: 9, paddingHorizontal: 18, marginLeft: 8 },
  buttonText: { color: 'white', fontWeight: '700' },
  chip: { borderWidth: 1, borderColor: '#ccd', borderRadius: 14, paddingVertical: 4, paddingHorizontal: 10, margin: 3 },
  chipOn: { backgroundColor: '#dfe7fb', borderColor: '#2d5bd7' },
  more: { alignSelf: 'center', marginVertical: 12 },
  hint: { color: '#555', marginVertical: 6 },
  error: { backgroundColor: '#fde8e8', borderRadius: 8, padding: 12 },
  errorText: { color: '#a11' },
  link: { color: '#2d5bd7', marginTop: 6 },
  banner: { backgroundColor: '#fff4e0', color: '#8a4b00', padding: 10, borderRadius: 8, fontWeight: '700' },
  side: { flexDirection: 'row', alignItems: 'flex-start' },
  stack: { flexDirection: 'column' },
});
