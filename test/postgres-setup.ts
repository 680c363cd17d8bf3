export { setup as default } from './postgres-run';
