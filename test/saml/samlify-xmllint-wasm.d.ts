// The schema validator samlify requires ships without type declarations.
declare module '@authenio/samlify-xmllint-wasm';
