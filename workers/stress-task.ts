/** The task module of `sabre stress` pools: each task runs one stride of one actor (src/stress/stride.ts). */
export { default } from '../src/stress/stride.js';
