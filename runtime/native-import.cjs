// Node's own import(), in a module Node loads itself (through require): test runners that rewrite
// import() in the code they transform leave this one alone, and it resolves with Node's loader and
// its hooks (see generated-import.ts).
module.exports = (url) => import(url);
