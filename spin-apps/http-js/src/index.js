// The http-js template's default router (itty-router's AutoRouter): routes are
// tried in order, a handler's return value is formatted as JSON unless it is
// already a Response, and an unmatched request gets a 404.
import { AutoRouter } from 'itty-router';

const router = AutoRouter();

router
  .get('/', () => new Response('Hello, Spin!'))
  .get('/hello/:name', ({ name }) => `Hello, ${name}!`);

addEventListener('fetch', (event) => {
  event.respondWith(router.fetch(event.request));
});
