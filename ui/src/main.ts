import { mount } from 'svelte';
import App from './App.svelte';
import { applyTheme, loadPreference } from './lib/theme';
import './app.css';
import './styles/lists.css';
import './styles/tables.css';

// Before the first paint of the app, so the saved theme never flashes the other one.
applyTheme(loadPreference());

const target = document.getElementById('app');
if (!target) throw new Error('missing #app');

export default mount(App, { target });
