// openapi-fetch, re-exported so that generated connectors reach it through specgate
// (`specgate/openapi-fetch`) and a user's project need not depend on it. Plain JavaScript: it
// loads the same way from the checkout and from the installed package, built or not.
export { default as createClient } from 'openapi-fetch';
