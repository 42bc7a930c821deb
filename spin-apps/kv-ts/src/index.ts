// The spin-js-sdk key-value example's behaviour: the request path is the
// key. POST stores the body, GET returns it (404 when absent), DELETE
// removes it, HEAD says whether it exists. The store is `default`, which
// the manifest grants (`key_value_stores = ["default"]`).
//
// The store comes straight from the `fermyon:spin/key-value@2.0.0` import
// (declared in wit/, listed under `config.witDependencies` in package.json),
// the interface @spinframework/spin-kv wraps.
import { Store } from 'fermyon:spin/key-value@2.0.0';

const decoder = new TextDecoder();

async function handle(req: Request): Promise<Response> {
  const key = new URL(req.url).pathname;
  const store = Store.open('default');
  switch (req.method) {
    case 'POST':
      store.set(key, new Uint8Array(await req.arrayBuffer()));
      return new Response(null, { status: 200 });
    case 'GET': {
      const value = store.get(key);
      if (value === undefined) {
        return new Response(null, { status: 404 });
      }
      return new Response(decoder.decode(value), { status: 200 });
    }
    case 'DELETE':
      store.delete(key);
      return new Response(null, { status: 200 });
    case 'HEAD':
      return new Response(null, { status: store.exists(key) ? 200 : 404 });
    default:
      return new Response(null, { status: 405 });
  }
}

//@ts-ignore
addEventListener('fetch', (event: FetchEvent) => {
  event.respondWith(handle(event.request));
});
