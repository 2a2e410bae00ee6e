import { StatusBar } from 'expo-status-bar';
import Constants from 'expo-constants';
import { Platform, SafeAreaView, StyleSheet } from 'react-native';

import DemoScreen from './src/DemoScreen';

/** The server URL: `?api=` in the page URL (web), else app.json's extra.apiUrl. */
function initialApiUrl() {
  if (Platform.OS === 'web' && typeof window !== 'undefined') {
    const fromQuery = new URLSearchParams(window.location.search).get('api');
    if (fromQuery) return fromQuery;
  }
  return Constants.expoConfig?.extra?.apiUrl ?? 'http://127.0.0.1:8000';
}

export default function App() {
  return (
    <SafeAreaView style={styles.root}>
      <DemoScreen initialApiUrl={initialApiUrl()} />
      <StatusBar style="auto" />
    </SafeAreaView>
  );
}

const styles = StyleSheet.create({ root: { flex: 1, backgroundColor: '#f6f7f9' } });
