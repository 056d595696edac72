// JSON requests to the service and the messages of its error responses.

export async function errorMessage(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_err) {
    body = null;
  }
  if (body && typeof body.message === "string" && body.message !== "") return body.message;
  if (body && typeof body.error === "string") return `${body.error} (HTTP ${response.status})`;
  return `The request failed (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}).`;
}

export async function getJson(url, options) {
  const response = await fetch(url, { ...(options || {}), headers: { Accept: "application/json", ...((options && options.headers) || {}) } });
  if (!response.ok) {
    const error = new Error(await errorMessage(response));
    error.status = response.status;
    throw error;
  }
  return response.json();
}
