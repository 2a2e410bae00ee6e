import { StatusBar } from 'expo-status-bar';
import Constants from 'expo-constants';
import { Platform, SafeAreaView, StyleSheet } from 'react-native';

import DemoScreen from './src/DemoScreen';
import { chooseApiUrl } from './src/apiUrl';

/** The server URL: `?api=` (web), the page's origin when served by `recsys serve`, else app.json's extra.apiUrl. */
function initialApiUrl() {
  return chooseApiUrl({
    platform: Platform.OS,
    location: typeof window !== 'undefined' ? window.location : undefined,
    dev: typeof __DEV__ !== 'undefined' && __DEV__,
    configured: Constants.expoConfig?.extra?.apiUrl,
  });
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
