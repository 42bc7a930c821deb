// Types of the `fermyon:spin/key-value@2.0.0` import as componentize-js
// binds it: a `result` error is thrown (as a ComponentError whose `payload`
// is the WIT `error` variant), an `option` is `undefined` when absent.
declare module 'fermyon:spin/key-value@2.0.0' {
  export type Error =
    | { tag: 'store-table-full' }
    | { tag: 'no-such-store' }
    | { tag: 'access-denied' }
    | { tag: 'other'; val: string };

  export class Store {
    static open(label: string): Store;
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    exists(key: string): boolean;
    getKeys(): string[];
  }
}
