// Theme preference: "system" follows prefers-color-scheme. The resolved theme is always
// written to <html data-theme="light|dark"> so CSS only needs one selector per theme.
export type ThemePreference = 'system' | 'light' | 'dark';

const STORAGE_KEY = 'burnrate.theme';
const DARK_QUERY = '(prefers-color-scheme: dark)';

export function loadPreference(): ThemePreference {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored === 'light' || stored === 'dark' || stored === 'system') return stored;
  } catch {
    // Storage unavailable: fall back to the system theme.
  }
  return 'system';
}

export function savePreference(preference: ThemePreference): void {
  try {
    if (preference === 'system') localStorage.removeItem(STORAGE_KEY);
    else localStorage.setItem(STORAGE_KEY, preference);
  } catch {
    // Not persisted; the choice still applies for this session.
  }
}

function systemPrefersDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia(DARK_QUERY).matches;
}

export function applyTheme(preference: ThemePreference): void {
  const dark = preference === 'dark' || (preference === 'system' && systemPrefersDark());
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

/** Re-applies the theme when the OS theme changes while the preference is "system". */
export function watchSystemTheme(current: () => ThemePreference): () => void {
  if (typeof matchMedia !== 'function') return () => {};
  const query = matchMedia(DARK_QUERY);
  const onChange = () => {
    if (current() === 'system') applyTheme('system');
  };
  query.addEventListener('change', onChange);
  return () => query.removeEventListener('change', onChange);
}
