import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
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
/** How the API's model names read on a picker and in a caption. */
export const MODEL_NAMES = {
  ranker: 'Two-stage ranker', ease: 'EASE', als: 'ALS', hybrid: 'Hybrid', itemknn: 'ItemKNN',
  diverse: 'Discovery', popular: 'Popular',
};
/** What each model's list is for, under its heading. */
const MODEL_CAPTIONS = {
  ranker: 'LightGBM over the other models\' candidates: what you are most likely to watch',
  ease: 'EASE: what you are most likely to watch',
  als: 'ALS: what you are most likely to watch',
  hybrid: 'ALS blended with recent popularity',
  itemknn: 'movies like the ones you liked',
  diverse: 'ALS re-ranked for less known, more varied movies',
  popular: 'the most liked movies, the same for everybody',
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
 * Enter a user id, see two lists side by side (stacked on a narrow screen): by default the server's
 * default model (accuracy) and the discovery model, any served model on either side by its picker;
 * their overlap, each list's popularity and novelty, and which tier answered.
 */
export default function DemoScreen({ initialApiUrl, makeClient = createApiClient }) {
  const [apiUrl, setApiUrl] = useState(initialApiUrl);
  const [userId, setUserId] = useState('');
  const [examples, setExamples] = useState(null);
  const [state, setState] = useState({ status: 'idle' });
  const [genre, setGenre] = useState(null);
  // the models of the two sides; null: the server's defaults (its default model | discovery)
  const [models, setModels] = useState({ left: null, right: null });
  const { width } = useWindowDimensions();
  // the newest request wins: an answer to an earlier choice that arrives later is dropped
  const latest = useRef(0);

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
    async (id = userId, chosenGenre = genre, chosenModels = models) => {
      if (client.error) {
        setState({ status: 'error', message: client.error.message });
        return;
      }
      setUserId(String(id));
      setGenre(chosenGenre);
      setModels(chosenModels);
      setState({ status: 'loading' });
      const request = ++latest.current;
      try {
        const data = await client.compare(id, PAGE, { genre: chosenGenre, ...chosenModels });
        if (request !== latest.current) return;
        setState({ status: 'done', data, userId: id, genre: chosenGenre, models: chosenModels });
      } catch (error) {
        if (request !== latest.current) return;
        setState({ status: 'error', message: error instanceof ApiError ? error.message : String(error) });
      }
    },
    [client, userId, genre, models],
  );

  const pick = (side, model) => {
    const chosen = { ...models, [side]: model };
    if (userId) show(userId, genre, chosen);
    else setModels(chosen);
  };

  const more = useCallback(async () => {
    if (state.status !== 'done') return;
    const request = latest.current; // a new choice meanwhile makes this page stale
    setState({ ...state, loadingMore: true });
    try {
      const next = await client.compare(state.userId, PAGE, { genre: state.genre, offset: state.data.k, ...state.models });
      if (request !== latest.current) return;
      setState((current) => (current.status === 'done'
        ? { ...current, data: appendPage(current.data, next), loadingMore: false } : current));
    } catch (error) {
      if (request !== latest.current) return;
      setState({ status: 'error', message: error instanceof ApiError ? error.message : String(error) });
    }
  }, [client, state]);

  return (
    <ScrollView contentContainerStyle={styles.page}>
      <Text style={styles.h1}>Accuracy vs discovery</Text>
      <Text style={styles.lead}>
        The same user, two recommenders: by default the model that scored best on validation (most likely to be watched) beside the discovery list (less known, more varied movies). Pick any model for either side.
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
        {['left', 'right'].map((side) => (
          <View key={side}>
            <Text style={styles.label}>{side === 'left' ? 'Left list' : 'Right list'}</Text>
            <View style={styles.inline} testID={`${side}-models`}>
              {[null, ...Object.keys(MODEL_NAMES)].map((m) => (
                <Pressable key={m ?? 'default'} style={[styles.chip, models[side] === m && styles.chipOn]}
                  onPress={() => pick(side, m)} testID={`${side}-${m ?? 'default'}`} accessibilityRole="button"
                  accessibilityState={{ selected: models[side] === m }}>
                  <Text>{m === null ? (side === 'left' ? 'Default (best on val)' : 'Default (discovery)') : MODEL_NAMES[m]}</Text>
                </Pressable>
              ))}
            </View>
          </View>
        ))}
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
        <RecList heading={MODEL_NAMES[data.accuracy.model] || data.accuracy.model}
          caption={MODEL_CAPTIONS[data.accuracy.model] || ''} list={data.accuracy}
          stats={data.accuracy_stats} shared={shared} testID="accuracy" />
        <RecList heading={MODEL_NAMES[data.discovery.model] || data.discovery.model}
          caption={MODEL_CAPTIONS[data.discovery.model] || ''} list={data.discovery}
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
