/** Subscriptions to the request store's writes (the live view's push): `subscribe` returns the function that ends one. */
export interface StoreLive {
  /** `listener` is told the last operation id of each batch the store wrote. */
  subscribe(listener: (lastId: number) => void): () => void;
}
