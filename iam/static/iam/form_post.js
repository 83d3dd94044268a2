// OAuth 2.0 Form Post Response Mode: post the authorization response to the client at once.
// A file, not inline code, so the Content-Security-Policy can forbid inline scripts.
document.getElementById("form-post-response").submit();
