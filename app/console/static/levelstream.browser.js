"use strict";
var Levelstream = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);
  var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

  // src/browser.ts
  var browser_exports = {};
  __export(browser_exports, {
    Backoff: () => Backoff,
    BadRequestError: () => BadRequestError,
    ChannelSubscription: () => ChannelSubscription,
    ConflictError: () => ConflictError,
    ConnectionLostError: () => ConnectionLostError,
    ForbiddenError: () => ForbiddenError,
    HistoryCompactedError: () => HistoryCompactedError,
    InternalError: () => InternalError,
    LevelstreamError: () => LevelstreamError,
    NotFoundError: () => NotFoundError,
    PayloadTooLargeError: () => PayloadTooLargeError,
    PreconditionFailedError: () => PreconditionFailedError,
    RateLimitedError: () => RateLimitedError,
    RealtimeClient: () => RealtimeClient,
    Stream: () => Stream,
    Subscription: () => Subscription,
    UnauthorizedError: () => UnauthorizedError,
    UnavailableError: () => UnavailableError,
    ValidationFailedError: () => ValidationFailedError,
    admin: () => admin_exports,
    applyBatch: () => applyBatch,
    connect: () => connect,
    createClient: () => createClient,
    createConfig: () => createConfig,
    createDocument: () => createDocument,
    createKey: () => createKey,
    delay: () => delay,
    deleteDocument: () => deleteDocument,
    deleteIndex: () => deleteIndex,
    deleteRule: () => deleteRule,
    errorFromClose: () => errorFromClose,
    errorFromProblem: () => errorFromProblem,
    explain: () => explain,
    exportDocuments: () => exportDocuments,
    getChanges: () => getChanges,
    getDocument: () => getDocument,
    getIndex: () => getIndex,
    getKey: () => getKey,
    getPresence: () => getPresence,
    getRule: () => getRule,
    healthz: () => healthz,
    importDocuments: () => importDocuments,
    issueTicket: () => issueTicket,
    jwtExpiryMs: () => jwtExpiryMs,
    listCollections: () => listCollections,
    listDocuments: () => listDocuments,
    listIndexes: () => listIndexes,
    listKeys: () => listKeys,
    listRules: () => listRules,
    metrics: () => metrics,
    mintToken: () => mintToken,
    patchDocument: () => patchDocument,
    publishMessage: () => publishMessage,
    putDocument: () => putDocument,
    putIndex: () => putIndex,
    putRule: () => putRule,
    query: () => query,
    queryPages: () => queryPages,
    readyz: () => readyz,
    resolveToken: () => resolveToken,
    revokeKey: () => revokeKey,
    streamChanges: () => streamChanges,
    updateKey: () => updateKey
  });

  // src/gen/core/bodySerializer.gen.ts
  var jsonBodySerializer = {
    bodySerializer: (body) => JSON.stringify(body, (_key, value) => typeof value === "bigint" ? value.toString() : value)
  };

  // src/gen/core/params.gen.ts
  var extraPrefixesMap = {
    $body_: "body",
    $headers_: "headers",
    $path_: "path",
    $query_: "query"
  };
  var extraPrefixes = Object.entries(extraPrefixesMap);

  // src/gen/core/serverSentEvents.gen.ts
  var createSseClient = ({
    onRequest,
    onSseError,
    onSseEvent,
    responseTransformer,
    responseValidator,
    sseDefaultRetryDelay,
    sseMaxRetryAttempts,
    sseMaxRetryDelay,
    sseSleepFn,
    url,
    ...options
  }) => {
    let lastEventId;
    const sleep = sseSleepFn ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const createStream = async function* () {
      let retryDelay = sseDefaultRetryDelay ?? 3e3;
      let attempt = 0;
      const signal = options.signal ?? new AbortController().signal;
      while (true) {
        if (signal.aborted) break;
        attempt++;
        const headers = options.headers instanceof Headers ? options.headers : new Headers(options.headers);
        if (lastEventId !== void 0) {
          headers.set("Last-Event-ID", lastEventId);
        }
        try {
          const requestInit = {
            redirect: "follow",
            ...options,
            body: options.serializedBody,
            headers,
            signal
          };
          let request = new Request(url, requestInit);
          if (onRequest) {
            request = await onRequest(url, requestInit);
          }
          const _fetch = options.fetch ?? globalThis.fetch;
          const response = await _fetch(request);
          if (!response.ok) throw new Error(`SSE failed: ${response.status} ${response.statusText}`);
          if (!response.body) throw new Error("No body in SSE response");
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          const abortHandler = () => {
            try {
              reader.cancel();
            } catch {
            }
          };
          signal.addEventListener("abort", abortHandler);
          try {
            while (true) {
              const { done, value } = await reader.read();
              if (done) break;
              buffer += value;
              buffer = buffer.replace(/\r\n/g, "\n").replace(/\r/g, "\n");
              const chunks = buffer.split("\n\n");
              buffer = chunks.pop() ?? "";
              for (const chunk of chunks) {
                const lines = chunk.split("\n");
                const dataLines = [];
                let eventName;
                for (const line of lines) {
                  if (line.startsWith("data:")) {
                    dataLines.push(line.replace(/^data:\s*/, ""));
                  } else if (line.startsWith("event:")) {
                    eventName = line.replace(/^event:\s*/, "");
                  } else if (line.startsWith("id:")) {
                    lastEventId = line.replace(/^id:\s*/, "");
                  } else if (line.startsWith("retry:")) {
                    const parsed = Number.parseInt(line.replace(/^retry:\s*/, ""), 10);
                    if (!Number.isNaN(parsed)) {
                      retryDelay = parsed;
                    }
                  }
                }
                let data;
                let parsedJson = false;
                if (dataLines.length) {
                  const rawData = dataLines.join("\n");
                  try {
                    data = JSON.parse(rawData);
                    parsedJson = true;
                  } catch {
                    data = rawData;
                  }
                }
                if (parsedJson) {
                  if (responseValidator) {
                    await responseValidator(data);
                  }
                  if (responseTransformer) {
                    data = await responseTransformer(data);
                  }
                }
                onSseEvent?.({
                  data,
                  event: eventName,
                  id: lastEventId,
                  retry: retryDelay
                });
                if (dataLines.length) {
                  yield data;
                }
              }
            }
          } finally {
            signal.removeEventListener("abort", abortHandler);
            reader.releaseLock();
          }
          break;
        } catch (error) {
          onSseError?.(error);
          if (sseMaxRetryAttempts !== void 0 && attempt >= sseMaxRetryAttempts) {
            break;
          }
          const backoff = Math.min(retryDelay * 2 ** (attempt - 1), sseMaxRetryDelay ?? 3e4);
          await sleep(backoff);
        }
      }
    };
    const stream = createStream();
    return { stream };
  };

  // src/gen/core/pathSerializer.gen.ts
  var separatorArrayExplode = (style) => {
    switch (style) {
      case "label":
        return ".";
      case "matrix":
        return ";";
      case "simple":
        return ",";
      default:
        return "&";
    }
  };
  var separatorArrayNoExplode = (style) => {
    switch (style) {
      case "form":
        return ",";
      case "pipeDelimited":
        return "|";
      case "spaceDelimited":
        return "%20";
      default:
        return ",";
    }
  };
  var separatorObjectExplode = (style) => {
    switch (style) {
      case "label":
        return ".";
      case "matrix":
        return ";";
      case "simple":
        return ",";
      default:
        return "&";
    }
  };
  var serializeArrayParam = ({
    allowReserved,
    explode,
    name,
    style,
    value
  }) => {
    if (!explode) {
      const joinedValues2 = (allowReserved ? value : value.map((v) => encodeURIComponent(v))).join(separatorArrayNoExplode(style));
      switch (style) {
        case "label":
          return `.${joinedValues2}`;
        case "matrix":
          return `;${name}=${joinedValues2}`;
        case "simple":
          return joinedValues2;
        default:
          return `${name}=${joinedValues2}`;
      }
    }
    const separator = separatorArrayExplode(style);
    const joinedValues = value.map((v) => {
      if (style === "label" || style === "simple") {
        return allowReserved ? v : encodeURIComponent(v);
      }
      return serializePrimitiveParam({
        allowReserved,
        name,
        value: v
      });
    }).join(separator);
    return style === "label" || style === "matrix" ? separator + joinedValues : joinedValues;
  };
  var serializePrimitiveParam = ({
    allowReserved,
    name,
    value
  }) => {
    if (value === void 0 || value === null) {
      return "";
    }
    if (typeof value === "object") {
      throw new Error(
        "Deeply-nested arrays/objects aren\u2019t supported. Provide your own `querySerializer()` to handle these."
      );
    }
    return `${name}=${allowReserved ? value : encodeURIComponent(value)}`;
  };
  var serializeObjectParam = ({
    allowReserved,
    explode,
    name,
    style,
    value,
    valueOnly
  }) => {
    if (value instanceof Date) {
      return valueOnly ? value.toISOString() : `${name}=${value.toISOString()}`;
    }
    if (style !== "deepObject" && !explode) {
      let values = [];
      Object.entries(value).forEach(([key, v]) => {
        values = [...values, key, allowReserved ? v : encodeURIComponent(v)];
      });
      const joinedValues2 = values.join(",");
      switch (style) {
        case "form":
          return `${name}=${joinedValues2}`;
        case "label":
          return `.${joinedValues2}`;
        case "matrix":
          return `;${name}=${joinedValues2}`;
        default:
          return joinedValues2;
      }
    }
    const separator = separatorObjectExplode(style);
    const joinedValues = Object.entries(value).map(
      ([key, v]) => serializePrimitiveParam({
        allowReserved,
        name: style === "deepObject" ? `${name}[${key}]` : key,
        value: v
      })
    ).join(separator);
    return style === "label" || style === "matrix" ? separator + joinedValues : joinedValues;
  };

  // src/gen/core/utils.gen.ts
  var PATH_PARAM_RE = /\{[^{}]+\}/g;
  var defaultPathSerializer = ({ path, url: _url }) => {
    let url = _url;
    const matches = _url.match(PATH_PARAM_RE);
    if (matches) {
      for (const match of matches) {
        let explode = false;
        let name = match.substring(1, match.length - 1);
        let style = "simple";
        if (name.endsWith("*")) {
          explode = true;
          name = name.substring(0, name.length - 1);
        }
        if (name.startsWith(".")) {
          name = name.substring(1);
          style = "label";
        } else if (name.startsWith(";")) {
          name = name.substring(1);
          style = "matrix";
        }
        const value = path[name];
        if (value === void 0 || value === null) {
          continue;
        }
        if (Array.isArray(value)) {
          url = url.replace(match, serializeArrayParam({ explode, name, style, value }));
          continue;
        }
        if (typeof value === "object") {
          url = url.replace(
            match,
            serializeObjectParam({
              explode,
              name,
              style,
              value,
              valueOnly: true
            })
          );
          continue;
        }
        if (style === "matrix") {
          url = url.replace(
            match,
            `;${serializePrimitiveParam({
              name,
              value
            })}`
          );
          continue;
        }
        const replaceValue = encodeURIComponent(
          style === "label" ? `.${value}` : value
        );
        url = url.replace(match, replaceValue);
      }
    }
    return url;
  };
  var getUrl = ({
    baseUrl,
    path,
    query: query2,
    querySerializer,
    url: _url
  }) => {
    const pathUrl = _url.startsWith("/") ? _url : `/${_url}`;
    let url = (baseUrl ?? "") + pathUrl;
    if (path) {
      url = defaultPathSerializer({ path, url });
    }
    let search = query2 ? querySerializer(query2) : "";
    if (search.startsWith("?")) {
      search = search.substring(1);
    }
    if (search) {
      url += `?${search}`;
    }
    return url;
  };
  function getValidRequestBody(options) {
    const hasBody = options.body !== void 0;
    const isSerializedBody = hasBody && options.bodySerializer;
    if (isSerializedBody) {
      if ("serializedBody" in options) {
        const hasSerializedBody = options.serializedBody !== void 0 && options.serializedBody !== "";
        return hasSerializedBody ? options.serializedBody : null;
      }
      return options.body !== "" ? options.body : null;
    }
    if (hasBody) {
      return options.body;
    }
    return void 0;
  }

  // src/gen/core/auth.gen.ts
  var getAuthToken = async (auth, callback) => {
    const token = typeof callback === "function" ? await callback(auth) : callback;
    if (!token) {
      return;
    }
    if (auth.scheme === "bearer") {
      return `Bearer ${token}`;
    }
    if (auth.scheme === "basic") {
      return `Basic ${btoa(token)}`;
    }
    return token;
  };

  // src/gen/client/utils.gen.ts
  var createQuerySerializer = ({
    parameters = {},
    ...args
  } = {}) => {
    const querySerializer = (queryParams) => {
      const search = [];
      if (queryParams && typeof queryParams === "object") {
        for (const name in queryParams) {
          const value = queryParams[name];
          if (value === void 0 || value === null) {
            continue;
          }
          const options = parameters[name] || args;
          if (Array.isArray(value)) {
            const serializedArray = serializeArrayParam({
              allowReserved: options.allowReserved,
              explode: true,
              name,
              style: "form",
              value,
              ...options.array
            });
            if (serializedArray) search.push(serializedArray);
          } else if (typeof value === "object") {
            const serializedObject = serializeObjectParam({
              allowReserved: options.allowReserved,
              explode: true,
              name,
              style: "deepObject",
              value,
              ...options.object
            });
            if (serializedObject) search.push(serializedObject);
          } else {
            const serializedPrimitive = serializePrimitiveParam({
              allowReserved: options.allowReserved,
              name,
              value
            });
            if (serializedPrimitive) search.push(serializedPrimitive);
          }
        }
      }
      return search.join("&");
    };
    return querySerializer;
  };
  var getParseAs = (contentType) => {
    if (!contentType) {
      return "stream";
    }
    const cleanContent = contentType.split(";")[0]?.trim();
    if (!cleanContent) {
      return;
    }
    if (cleanContent.startsWith("application/json") || cleanContent.endsWith("+json")) {
      return "json";
    }
    if (cleanContent === "multipart/form-data") {
      return "formData";
    }
    if (["application/", "audio/", "image/", "video/"].some((type) => cleanContent.startsWith(type))) {
      return "blob";
    }
    if (cleanContent.startsWith("text/")) {
      return "text";
    }
    return;
  };
  var checkForExistence = (options, name) => {
    if (!name) {
      return false;
    }
    if (options.headers.has(name) || options.query?.[name] || options.headers.get("Cookie")?.includes(`${name}=`)) {
      return true;
    }
    return false;
  };
  var setAuthParams = async ({
    security,
    ...options
  }) => {
    for (const auth of security) {
      if (checkForExistence(options, auth.name)) {
        continue;
      }
      const token = await getAuthToken(auth, options.auth);
      if (!token) {
        continue;
      }
      const name = auth.name ?? "Authorization";
      switch (auth.in) {
        case "query":
          if (!options.query) {
            options.query = {};
          }
          options.query[name] = token;
          break;
        case "cookie":
          options.headers.append("Cookie", `${name}=${token}`);
          break;
        case "header":
        default:
          options.headers.set(name, token);
          break;
      }
    }
  };
  var buildUrl = (options) => getUrl({
    baseUrl: options.baseUrl,
    path: options.path,
    query: options.query,
    querySerializer: typeof options.querySerializer === "function" ? options.querySerializer : createQuerySerializer(options.querySerializer),
    url: options.url
  });
  var mergeConfigs = (a, b) => {
    const config = { ...a, ...b };
    if (config.baseUrl?.endsWith("/")) {
      config.baseUrl = config.baseUrl.substring(0, config.baseUrl.length - 1);
    }
    config.headers = mergeHeaders(a.headers, b.headers);
    return config;
  };
  var headersEntries = (headers) => {
    const entries = [];
    headers.forEach((value, key) => {
      entries.push([key, value]);
    });
    return entries;
  };
  var mergeHeaders = (...headers) => {
    const mergedHeaders = new Headers();
    for (const header of headers) {
      if (!header) {
        continue;
      }
      const iterator = header instanceof Headers ? headersEntries(header) : Object.entries(header);
      for (const [key, value] of iterator) {
        if (value === null) {
          mergedHeaders.delete(key);
        } else if (Array.isArray(value)) {
          for (const v of value) {
            mergedHeaders.append(key, v);
          }
        } else if (value !== void 0) {
          mergedHeaders.set(
            key,
            typeof value === "object" ? JSON.stringify(value) : value
          );
        }
      }
    }
    return mergedHeaders;
  };
  var Interceptors = class {
    constructor() {
      __publicField(this, "fns", []);
    }
    clear() {
      this.fns = [];
    }
    eject(id) {
      const index = this.getInterceptorIndex(id);
      if (this.fns[index]) {
        this.fns[index] = null;
      }
    }
    exists(id) {
      const index = this.getInterceptorIndex(id);
      return Boolean(this.fns[index]);
    }
    getInterceptorIndex(id) {
      if (typeof id === "number") {
        return this.fns[id] ? id : -1;
      }
      return this.fns.indexOf(id);
    }
    update(id, fn) {
      const index = this.getInterceptorIndex(id);
      if (this.fns[index]) {
        this.fns[index] = fn;
        return id;
      }
      return false;
    }
    use(fn) {
      this.fns.push(fn);
      return this.fns.length - 1;
    }
  };
  var createInterceptors = () => ({
    error: new Interceptors(),
    request: new Interceptors(),
    response: new Interceptors()
  });
  var defaultQuerySerializer = createQuerySerializer({
    allowReserved: false,
    array: {
      explode: true,
      style: "form"
    },
    object: {
      explode: true,
      style: "deepObject"
    }
  });
  var defaultHeaders = {
    "Content-Type": "application/json"
  };
  var createConfig = (override = {}) => ({
    ...jsonBodySerializer,
    headers: defaultHeaders,
    parseAs: "auto",
    querySerializer: defaultQuerySerializer,
    ...override
  });

  // src/gen/client/client.gen.ts
  var createClient = (config = {}) => {
    let _config = mergeConfigs(createConfig(), config);
    const getConfig = () => ({ ..._config });
    const setConfig = (config2) => {
      _config = mergeConfigs(_config, config2);
      return getConfig();
    };
    const interceptors = createInterceptors();
    const beforeRequest = async (options) => {
      const opts = {
        ..._config,
        ...options,
        fetch: options.fetch ?? _config.fetch ?? globalThis.fetch,
        headers: mergeHeaders(_config.headers, options.headers),
        serializedBody: void 0
      };
      if (opts.security) {
        await setAuthParams({
          ...opts,
          security: opts.security
        });
      }
      if (opts.requestValidator) {
        await opts.requestValidator(opts);
      }
      if (opts.body !== void 0 && opts.bodySerializer) {
        opts.serializedBody = opts.bodySerializer(opts.body);
      }
      if (opts.body === void 0 || opts.serializedBody === "") {
        opts.headers.delete("Content-Type");
      }
      const resolvedOpts = opts;
      const url = buildUrl(resolvedOpts);
      return { opts: resolvedOpts, url };
    };
    const request = async (options) => {
      const { opts, url } = await beforeRequest(options);
      const requestInit = {
        redirect: "follow",
        ...opts,
        body: getValidRequestBody(opts)
      };
      let request2 = new Request(url, requestInit);
      for (const fn of interceptors.request.fns) {
        if (fn) {
          request2 = await fn(request2, opts);
        }
      }
      const _fetch = opts.fetch;
      let response;
      try {
        response = await _fetch(request2);
      } catch (error2) {
        let finalError2 = error2;
        for (const fn of interceptors.error.fns) {
          if (fn) {
            finalError2 = await fn(error2, void 0, request2, opts);
          }
        }
        finalError2 = finalError2 || {};
        if (opts.throwOnError) {
          throw finalError2;
        }
        return opts.responseStyle === "data" ? void 0 : {
          error: finalError2,
          request: request2,
          response: void 0
        };
      }
      for (const fn of interceptors.response.fns) {
        if (fn) {
          response = await fn(response, request2, opts);
        }
      }
      const result = {
        request: request2,
        response
      };
      if (response.ok) {
        const parseAs = (opts.parseAs === "auto" ? getParseAs(response.headers.get("Content-Type")) : opts.parseAs) ?? "json";
        if (response.status === 204 || response.headers.get("Content-Length") === "0") {
          let emptyData;
          switch (parseAs) {
            case "arrayBuffer":
            case "blob":
            case "text":
              emptyData = await response[parseAs]();
              break;
            case "formData":
              emptyData = new FormData();
              break;
            case "stream":
              emptyData = response.body;
              break;
            case "json":
            default:
              emptyData = {};
              break;
          }
          return opts.responseStyle === "data" ? emptyData : {
            data: emptyData,
            ...result
          };
        }
        let data;
        switch (parseAs) {
          case "arrayBuffer":
          case "blob":
          case "formData":
          case "text":
            data = await response[parseAs]();
            break;
          case "json": {
            const text = await response.text();
            data = text ? JSON.parse(text) : {};
            break;
          }
          case "stream":
            return opts.responseStyle === "data" ? response.body : {
              data: response.body,
              ...result
            };
        }
        if (parseAs === "json") {
          if (opts.responseValidator) {
            await opts.responseValidator(data);
          }
          if (opts.responseTransformer) {
            data = await opts.responseTransformer(data);
          }
        }
        return opts.responseStyle === "data" ? data : {
          data,
          ...result
        };
      }
      const textError = await response.text();
      let jsonError;
      try {
        jsonError = JSON.parse(textError);
      } catch {
      }
      const error = jsonError ?? textError;
      let finalError = error;
      for (const fn of interceptors.error.fns) {
        if (fn) {
          finalError = await fn(error, response, request2, opts);
        }
      }
      finalError = finalError || {};
      if (opts.throwOnError) {
        throw finalError;
      }
      return opts.responseStyle === "data" ? void 0 : {
        error: finalError,
        ...result
      };
    };
    const makeMethodFn = (method) => (options) => request({ ...options, method });
    const makeSseFn = (method) => async (options) => {
      const { opts, url } = await beforeRequest(options);
      return createSseClient({
        ...opts,
        body: opts.body,
        headers: opts.headers,
        method,
        onRequest: async (url2, init) => {
          let request2 = new Request(url2, init);
          for (const fn of interceptors.request.fns) {
            if (fn) {
              request2 = await fn(request2, opts);
            }
          }
          return request2;
        },
        serializedBody: getValidRequestBody(opts),
        url
      });
    };
    const _buildUrl = (options) => buildUrl({ ..._config, ...options });
    return {
      buildUrl: _buildUrl,
      connect: makeMethodFn("CONNECT"),
      delete: makeMethodFn("DELETE"),
      get: makeMethodFn("GET"),
      getConfig,
      head: makeMethodFn("HEAD"),
      interceptors,
      options: makeMethodFn("OPTIONS"),
      patch: makeMethodFn("PATCH"),
      post: makeMethodFn("POST"),
      put: makeMethodFn("PUT"),
      request,
      setConfig,
      sse: {
        connect: makeSseFn("CONNECT"),
        delete: makeSseFn("DELETE"),
        get: makeSseFn("GET"),
        head: makeSseFn("HEAD"),
        options: makeSseFn("OPTIONS"),
        patch: makeSseFn("PATCH"),
        post: makeSseFn("POST"),
        put: makeSseFn("PUT"),
        trace: makeSseFn("TRACE")
      },
      trace: makeMethodFn("TRACE")
    };
  };

  // src/gen/client.gen.ts
  var client = createClient(createConfig());

  // src/gen/sdk.gen.ts
  var healthz = (options) => (options?.client ?? client).get({ url: "/healthz", ...options });
  var metrics = (options) => (options?.client ?? client).get({ url: "/metrics", ...options });
  var readyz = (options) => (options?.client ?? client).get({ url: "/readyz", ...options });
  var exportDocuments = (options) => (options?.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/admin/export",
    ...options
  });
  var importDocuments = (options) => (options.client ?? client).post({
    bodySerializer: null,
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/admin/import",
    ...options,
    headers: {
      "Content-Type": "application/x-ndjson",
      ...options.headers
    }
  });
  var issueTicket = (options) => (options?.client ?? client).post({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/auth/ticket",
    ...options
  });
  var mintToken = (options) => (options.client ?? client).post({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/auth/token",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var applyBatch = (options) => (options.client ?? client).post({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/batch",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var getChanges = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/changes",
    ...options
  });
  var publishMessage = (options) => (options.client ?? client).post({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/channels/{channel}/messages",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var getPresence = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/channels/{channel}/presence",
    ...options
  });
  var listCollections = (options) => (options?.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections",
    ...options
  });
  var listDocuments = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/docs",
    ...options
  });
  var createDocument = (options) => (options.client ?? client).post({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/docs",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var deleteDocument = (options) => (options.client ?? client).delete({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/docs/{key}",
    ...options
  });
  var getDocument = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/docs/{key}",
    ...options
  });
  var patchDocument = (options) => (options.client ?? client).patch({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/docs/{key}",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var putDocument = (options) => (options.client ?? client).put({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/docs/{key}",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var listIndexes = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/indexes",
    ...options
  });
  var deleteIndex = (options) => (options.client ?? client).delete({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/indexes/{name}",
    ...options
  });
  var getIndex = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/indexes/{name}",
    ...options
  });
  var putIndex = (options) => (options.client ?? client).put({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/collections/{collection}/indexes/{name}",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var listKeys = (options) => (options?.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/keys",
    ...options
  });
  var createKey = (options) => (options.client ?? client).post({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/keys",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var revokeKey = (options) => (options.client ?? client).delete({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/keys/{key_id}",
    ...options
  });
  var getKey = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/keys/{key_id}",
    ...options
  });
  var updateKey = (options) => (options.client ?? client).patch({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/keys/{key_id}",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var listRules = (options) => (options?.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/rules",
    ...options
  });
  var deleteRule = (options) => (options.client ?? client).delete({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/rules/{glob}",
    ...options
  });
  var getRule = (options) => (options.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/rules/{glob}",
    ...options
  });
  var putRule = (options) => (options.client ?? client).put({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/rules/{glob}",
    ...options,
    headers: {
      "Content-Type": "application/json",
      ...options.headers
    }
  });
  var streamChanges = (options) => (options?.client ?? client).get({
    security: [{ scheme: "bearer", type: "http" }, { name: "X-API-Key", type: "apiKey" }],
    url: "/v1/stream",
    ...options
  });

  // src/errors.ts
  var LevelstreamError = class extends Error {
    constructor(code, detail, status, problem = {}) {
      const said = detail === "" || detail === code ? "" : `: ${detail}`;
      super(`${code}${said}${status !== void 0 ? ` (status ${status})` : ""}`);
      __publicField(this, "code");
      __publicField(this, "status");
      __publicField(this, "detail");
      __publicField(this, "problem");
      this.name = new.target.name;
      this.code = code;
      this.status = status;
      this.detail = detail;
      this.problem = problem;
    }
    get requestId() {
      const id = this.problem.request_id;
      return typeof id === "string" ? id : void 0;
    }
  };
  var BadRequestError = class extends LevelstreamError {
  };
  var ValidationFailedError = class extends LevelstreamError {
  };
  var UnauthorizedError = class extends LevelstreamError {
  };
  var ForbiddenError = class extends LevelstreamError {
  };
  var NotFoundError = class extends LevelstreamError {
  };
  var ConflictError = class extends LevelstreamError {
  };
  var PreconditionFailedError = class extends LevelstreamError {
    get currentRev() {
      const rev = this.problem.current_rev;
      return typeof rev === "number" ? rev : null;
    }
  };
  var PayloadTooLargeError = class extends LevelstreamError {
  };
  var HistoryCompactedError = class extends LevelstreamError {
    get oldestSeq() {
      const seq = this.problem.oldest_seq;
      return typeof seq === "number" ? seq : null;
    }
  };
  var RateLimitedError = class extends LevelstreamError {
  };
  var UnavailableError = class extends LevelstreamError {
  };
  var InternalError = class extends LevelstreamError {
  };
  var ConnectionLostError = class extends Error {
    constructor(message = "connection lost") {
      super(message);
      this.name = "ConnectionLostError";
    }
  };
  var CLASSES = {
    bad_request: BadRequestError,
    validation_failed: ValidationFailedError,
    unauthorized: UnauthorizedError,
    forbidden: ForbiddenError,
    not_found: NotFoundError,
    conflict: ConflictError,
    precondition_failed: PreconditionFailedError,
    payload_too_large: PayloadTooLargeError,
    history_compacted: HistoryCompactedError,
    rate_limited: RateLimitedError,
    unavailable: UnavailableError,
    internal: InternalError
  };
  var CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "history_compacted",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "validation_failed",
    429: "rate_limited",
    503: "unavailable"
  };
  function errorFromProblem(problem, status) {
    const doc = problem !== null && typeof problem === "object" ? problem : { detail: String(problem ?? "") };
    const httpStatus = status ?? (typeof doc.status === "number" ? doc.status : void 0);
    let code = doc.code;
    if (code === void 0 || !(code in CLASSES)) {
      code = CODE_BY_STATUS[httpStatus ?? 0] ?? "internal";
    }
    const detail = String(doc.detail ?? doc.message ?? "");
    return new CLASSES[code](code, detail, httpStatus, doc);
  }
  var CLOSE_MEANING = {
    4001: [
      "unauthorized",
      401,
      "the server refused the credential: the token is missing, invalid, expired or revoked, or the ticket was already used"
    ],
    4003: [
      "forbidden",
      403,
      "the credential may no longer use this connection: the key was revoked or changed, or its rights do not allow this origin or address"
    ]
  };
  function errorFromClose(code, reason) {
    const [problemCode, status, meaning] = CLOSE_MEANING[code];
    let said = reason.trim();
    if (said.startsWith("{")) {
      try {
        const parsed = JSON.parse(said);
        if (parsed !== null && typeof parsed === "object") {
          const { detail: detail2, code: saidCode } = parsed;
          said = typeof detail2 === "string" ? detail2 : typeof saidCode === "string" ? saidCode : "";
        }
      } catch {
      }
    }
    const detail = said === "" || said === problemCode ? meaning : said;
    return new CLASSES[problemCode](problemCode, `${detail} (WebSocket close ${code})`, status, {
      close_code: code
    });
  }

  // src/connect.ts
  async function resolveToken(token) {
    return typeof token === "function" ? await token() : token;
  }
  function connect(options) {
    const client2 = createClient(
      createConfig({
        baseUrl: options.baseUrl.replace(/\/+$/, ""),
        throwOnError: options.throwOnError ?? true,
        fetch: options.fetch,
        headers: options.headers,
        // Every operation lists Bearer and X-API-Key; answer only the first.
        auth: async (auth) => auth.scheme === "bearer" ? resolveToken(options.token) : void 0
      })
    );
    client2.interceptors.error.use(
      (error, response) => response === void 0 ? error : errorFromProblem(error, response.status)
    );
    return client2;
  }

  // src/realtime-streams.ts
  var MAX_PENDING = 1e4;
  var Backoff = class {
    constructor(initial, maximum) {
      __publicField(this, "initial", initial);
      __publicField(this, "maximum", maximum);
      __publicField(this, "attempt", 0);
    }
    reset() {
      this.attempt = 0;
    }
    sleep() {
      const ceiling = Math.min(this.maximum, this.initial * 2 ** this.attempt);
      this.attempt = Math.min(this.attempt + 1, 30);
      return delay(ceiling / 2 + Math.random() * (ceiling / 2));
    }
  };
  function delay(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
  function base64UrlDecode(part) {
    const padded = part.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - part.length % 4) % 4);
    return atob(padded);
  }
  function jwtExpiryMs(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const payload = JSON.parse(base64UrlDecode(parts[1]));
      return typeof payload.exp === "number" ? payload.exp * 1e3 : null;
    } catch {
      return null;
    }
  }
  var Stream = class {
    constructor(client2, id) {
      __publicField(this, "client", client2);
      __publicField(this, "id", id);
      __publicField(this, "items", []);
      __publicField(this, "wakeup", null);
      __publicField(this, "ended", false);
      __publicField(this, "error", null);
      __publicField(this, "started", false);
      __publicField(this, "bound", null);
      __publicField(this, "eventSource", null);
      /** True once the server has the subscription (or it ended): `start()` waits for it. */
      __publicField(this, "live", false);
      __publicField(this, "liveWaiters", []);
    }
    /** @internal The server confirmed the subscription (or it ended). */
    markLive() {
      this.live = true;
      const waiters = this.liveWaiters;
      this.liveWaiters = [];
      for (const wake of waiters) wake();
    }
    /** @internal Resolves true once live (or ended), false after `timeoutMs`. */
    waitLive(timeoutMs) {
      if (this.live || this.ended) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(this.live || this.ended), Math.max(timeoutMs, 0));
        this.liveWaiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    }
    push(item) {
      this.items.push(item);
      this.wake();
    }
    fail(error) {
      if (this.ended) return;
      this.ended = true;
      this.error = error;
      this.wake();
      this.markLive();
      this.client.forget(this);
    }
    wake() {
      const wakeup = this.wakeup;
      this.wakeup = null;
      wakeup?.();
    }
    frame() {
      return { sub: this.id };
    }
    subscribed(_reply) {
    }
    /** Subscribe (once: `subscribe()` and `channel()` already did); resolves when the server has it. */
    async start() {
      if (!this.started) {
        this.started = true;
        await this.client.startStream(this);
      }
      return this;
    }
    async beforeNext() {
    }
    async next() {
      await this.start();
      await this.beforeNext();
      for (; ; ) {
        if (this.items.length > 0) return { value: this.items.shift(), done: false };
        if (this.ended) {
          if (this.error !== null) throw this.error;
          return { value: void 0, done: true };
        }
        await new Promise((resolve) => this.wakeup = resolve);
      }
    }
    async return() {
      this.close();
      return { value: void 0, done: true };
    }
    [Symbol.asyncIterator]() {
      return this;
    }
    /** Stop the subscription (the server is told, if connected). */
    close() {
      this.fail(null);
      this.eventSource?.close();
      this.eventSource = null;
    }
    get pending() {
      return this.items.length;
    }
  };
  var Subscription = class extends Stream {
    constructor(client2, id, options) {
      super(client2, id);
      __publicField(this, "collection");
      __publicField(this, "filters");
      __publicField(this, "lastSeq");
      __publicField(this, "epoch");
      __publicField(this, "snapshotPending");
      __publicField(this, "snapshotItems", []);
      __publicField(this, "overflowed", false);
      this.collection = options.collection;
      this.filters = {};
      for (const name of ["key", "prefix", "gt", "gte", "lt", "lte"]) {
        const value = options[name];
        if (value !== void 0) this.filters[name] = value;
      }
      this.lastSeq = options.since ?? null;
      this.epoch = options.epoch ?? null;
      this.snapshotPending = options.snapshot ?? false;
    }
    frame() {
      const frame = { sub: this.id, collection: this.collection, ...this.filters };
      if (this.snapshotPending) frame.snapshot = true;
      else if (this.lastSeq !== null) frame.since = this.lastSeq;
      if (this.epoch !== null) frame.epoch = this.epoch;
      return frame;
    }
    subscribed(reply) {
      if (this.epoch === null && typeof reply.epoch === "string") this.epoch = reply.epoch;
      if (this.lastSeq === null && !this.snapshotPending) this.lastSeq = Number(reply.seq);
    }
    async beforeNext() {
      if (this.overflowed && this.items.length === 0 && !this.ended) await this.client.resync(this);
    }
    onChange(change) {
      if (typeof change.seq !== "number" || this.snapshotPending) return;
      if (this.lastSeq !== null && change.seq <= this.lastSeq) return;
      if (this.overflowed) return;
      if (this.items.length >= MAX_PENDING) {
        this.overflowed = true;
        return;
      }
      this.lastSeq = change.seq;
      this.push(change);
    }
    onSnapshot(items, seq, done) {
      if (!this.snapshotPending) return;
      this.snapshotItems.push(...items);
      if (!done) return;
      for (const envelope of this.snapshotItems) {
        this.push({
          seq,
          op: "put",
          collection: String(envelope.collection),
          key: String(envelope.key),
          value: envelope.value,
          rev: Number(envelope.rev),
          prev_rev: null,
          ts: String(envelope.updated_at ?? ""),
          snapshot: true
        });
      }
      this.snapshotItems = [];
      this.snapshotPending = false;
      this.lastSeq = seq;
    }
    restartSnapshot() {
      this.snapshotItems = [];
    }
    onReset(oldestSeq) {
      const detail = "the resume point is no longer in the change log (or the database was replaced): take a new snapshot";
      this.fail(errorFromProblem({ code: "history_compacted", detail, oldest_seq: oldestSeq }, 410));
    }
  };
  var ChannelSubscription = class extends Stream {
    constructor(client2, id, channel) {
      super(client2, id);
      __publicField(this, "channel", channel);
    }
    frame() {
      return { sub: this.id, channel: this.channel };
    }
  };

  // src/realtime.ts
  var FELL_BACK = "switched to Server-Sent Events";
  var NO_WEBSOCKET = "no WebSocket implementation: this runtime has no global WebSocket (Node.js 20 has it only with --experimental-websocket). Use Node.js >= 22, or pass one: `import WebSocket from 'ws'; new RealtimeClient({ ..., WebSocket })` (or transport: 'sse' with an EventSource)";
  var RETRY_STATUSES = /* @__PURE__ */ new Set([429, 500, 502, 503, 504]);
  var RealtimeClient = class {
    constructor(options) {
      __publicField(this, "baseUrl");
      __publicField(this, "wsUrl");
      __publicField(this, "transport");
      __publicField(this, "clientId", null);
      /** Successful WebSocket sessions (1 + reconnects). */
      __publicField(this, "connections", 0);
      __publicField(this, "token");
      __publicField(this, "options");
      __publicField(this, "fallbackAllowed");
      __publicField(this, "backoff");
      __publicField(this, "requestTimeoutMs");
      __publicField(this, "ids", 0);
      __publicField(this, "ws", null);
      __publicField(this, "connected", false);
      __publicField(this, "connectWaiters", []);
      __publicField(this, "running", null);
      __publicField(this, "pending", /* @__PURE__ */ new Map());
      __publicField(this, "streams", /* @__PURE__ */ new Map());
      __publicField(this, "joined", /* @__PURE__ */ new Map());
      __publicField(this, "syncing", Promise.resolve());
      __publicField(this, "fatal", null);
      __publicField(this, "closed", false);
      __publicField(this, "authWaiter", null);
      __publicField(this, "refreshTimer", null);
      if (options.token === void 0 && options.tokenProvider === void 0) {
        throw new Error("give a token or a tokenProvider");
      }
      this.options = options;
      this.baseUrl = options.baseUrl.replace(/\/+$/, "");
      this.wsUrl = this.baseUrl.replace(/^http/, "ws") + "/v1/ws";
      this.token = options.token ?? null;
      this.transport = options.transport === "sse" ? "sse" : "websocket";
      this.fallbackAllowed = (options.transport ?? "auto") === "auto";
      this.backoff = new Backoff(options.backoffInitialMs ?? 100, options.backoffMaxMs ?? 5e3);
      this.requestTimeoutMs = options.requestTimeoutMs ?? 3e4;
    }
    /** A current token: a fresh one from the provider, if there is one. */
    async currentToken() {
      if (this.options.tokenProvider !== void 0) {
        this.token = await resolveToken(this.options.tokenProvider);
      }
      return this.token;
    }
    /**
     * Changes matching a filter, as an async iterator. Resolves once the server has the
     * subscription (live: a write made after it resolves is delivered), so await it before
     * writing; rejects with the server's refusal (`ForbiddenError`, ...) or when no
     * connection confirmed it within `requestTimeoutMs`.
     */
    async subscribe(options) {
      return new Subscription(this, `s${++this.ids}`, options).start();
    }
    /** A channel's messages and presence events, as an async iterator; live once it resolves. */
    async channel(channel) {
      return new ChannelSubscription(this, `c${++this.ids}`, channel).start();
    }
    /** Send an ephemeral message; resolves to how many subscribers got it. */
    async publish(channel, data) {
      if (this.transport === "websocket") {
        try {
          return Number((await this.request("publish", { channel, data })).delivered ?? 0);
        } catch (error) {
          if (!(error instanceof ConnectionLostError && error.message === FELL_BACK)) throw error;
        }
      }
      const response = await this.rest("POST", `/v1/channels/${encodeURIComponent(channel)}/messages`, data);
      return Number(response.delivered ?? 0);
    }
    /** Appear in a channel's presence with `state` (again after each reconnect). */
    async join(channel, state = null) {
      if (this.transport !== "websocket") throw new Error("presence join needs the WebSocket transport");
      const reply = await this.request("join", { channel, state });
      this.joined.set(channel, state);
      this.clientId = reply.client_id ?? this.clientId;
      return String(this.clientId);
    }
    async leave(channel) {
      this.joined.delete(channel);
      if (this.transport === "websocket") await this.request("leave", { channel });
    }
    /** Who is joined to `channel` now. */
    async presence(channel) {
      if (this.transport === "websocket") {
        try {
          return (await this.request("presence", { channel })).items ?? [];
        } catch (error) {
          if (!(error instanceof ConnectionLostError && error.message === FELL_BACK)) throw error;
        }
      }
      const body = await this.rest("GET", `/v1/channels/${encodeURIComponent(channel)}/presence`);
      return body.items ?? [];
    }
    /** Send one op over the WebSocket; `ok: false` rejects with the typed error. */
    async request(op, fields = {}) {
      if (this.transport !== "websocket") throw new Error(`op ${op} needs the WebSocket transport`);
      const ws = await this.waitConnected();
      return this.sendOp(ws, op, fields);
    }
    /** Close the connection and end every subscription. */
    async close() {
      this.closed = true;
      for (const stream of [...this.streams.values()]) stream.close();
      this.clearRefresh();
      this.ws?.close(1e3, "client closed");
      this.wakeConnectWaiters();
      if (this.running !== null) await this.running;
    }
    // --- the WebSocket connection ---------------------------------------------------
    sendOp(ws, op, fields) {
      const id = `r${++this.ids}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new ConnectionLostError(`no reply to ${op} in ${this.requestTimeoutMs} ms`));
        }, this.requestTimeoutMs);
        this.pending.set(id, {
          resolve: (reply) => {
            clearTimeout(timer);
            if (reply.type === "reply" && reply.ok !== true) reject(errorFromProblem(reply.error ?? {}));
            else resolve(reply);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          }
        });
        try {
          ws.send(JSON.stringify({ op, id, ...fields }));
        } catch (error) {
          this.pending.delete(id);
          clearTimeout(timer);
          reject(new ConnectionLostError(String(error)));
        }
      });
    }
    async waitConnected() {
      this.ensureRunning();
      const deadline = Date.now() + this.requestTimeoutMs;
      for (; ; ) {
        if (this.fatal !== null) throw this.fatal;
        if (this.closed) throw new ConnectionLostError("the client is closed");
        if (this.transport !== "websocket") throw new ConnectionLostError(FELL_BACK);
        if (this.connected && this.ws !== null) return this.ws;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new ConnectionLostError("not connected to the server");
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, 500));
          this.connectWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    }
    wakeConnectWaiters() {
      const waiters = this.connectWaiters;
      this.connectWaiters = [];
      for (const wake of waiters) wake();
    }
    ensureRunning() {
      if (this.running === null && !this.closed && this.transport === "websocket") {
        this.running = this.run();
      }
    }
    async run() {
      let failures = 0;
      try {
        while (!this.closed) {
          const outcome = await this.connectOnce();
          if (outcome === "stop") return;
          failures = outcome === "never-opened" ? failures + 1 : 0;
          if (failures >= (this.options.fallbackAfterFailures ?? 2) && this.fallbackAllowed) {
            if (await this.httpReachable()) {
              this.fallBack();
              return;
            }
          }
          if (this.options.reconnect === false) {
            this.setFatal(new ConnectionLostError("connection closed"));
            return;
          }
          await this.backoff.sleep();
        }
      } catch (error) {
        this.setFatal(error);
      } finally {
        this.running = null;
      }
    }
    /** One connection's life: 'stop' ends the loop, else reconnect. */
    async connectOnce() {
      const token = await this.currentToken();
      const Ctor = this.options.WebSocket ?? globalThis.WebSocket;
      if (Ctor === void 0) throw new Error(NO_WEBSOCKET);
      let ws;
      try {
        ws = new Ctor(this.wsUrl);
      } catch {
        return "never-opened";
      }
      let opened = false;
      let settle = () => {
      };
      let settled = false;
      const closed = new Promise((resolve) => settle = resolve);
      const finish = (code2, reason2) => {
        if (!settled) {
          settled = true;
          settle({ code: code2, reason: reason2 });
        }
      };
      ws.onclose = (ev) => finish(ev.code, ev.reason);
      ws.onerror = () => {
        setTimeout(() => finish(1006, "connection error"), opened ? 1e3 : 0);
      };
      ws.onmessage = (ev) => this.onMessage(ev.data);
      const open = new Promise((resolve) => {
        ws.onopen = () => resolve(true);
        void closed.then(() => resolve(false));
      });
      if (!await open) return "never-opened";
      opened = true;
      this.ws = ws;
      const authed = new Promise((resolve, reject) => this.authWaiter = { resolve, reject });
      ws.send(JSON.stringify({ op: "auth", token }));
      const first = await Promise.race([authed, closed.then(() => null)]);
      this.authWaiter = null;
      if (first !== null) {
        this.clientId = first.client_id ?? this.clientId;
        this.connections += 1;
        this.backoff.reset();
        for (const stream of this.streams.values()) {
          if (stream instanceof Subscription && stream.snapshotPending) stream.restartSnapshot();
        }
        void this.onOpen(ws);
        this.scheduleRefresh(ws);
      }
      const { code, reason } = await closed;
      this.ws = null;
      this.connected = false;
      this.clearRefresh();
      for (const pending of this.pending.values()) pending.reject(new ConnectionLostError("connection closed"));
      this.pending.clear();
      if (this.closed) return "stop";
      if (code === 4003 || code === 4001 && this.options.tokenProvider === void 0) {
        this.setFatal(errorFromClose(code, reason));
        return "stop";
      }
      return opened ? "closed" : "never-opened";
    }
    async httpReachable() {
      try {
        const response = await (this.options.fetch ?? fetch)(`${this.baseUrl}/healthz`);
        return response.ok;
      } catch {
        return false;
      }
    }
    fallBack() {
      this.transport = "sse";
      for (const stream of this.streams.values()) {
        stream.bound = null;
        void this.sseLoop(stream);
      }
      this.wakeConnectWaiters();
    }
    setFatal(error) {
      this.fatal = error;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
      for (const stream of [...this.streams.values()]) stream.fail(error);
      this.wakeConnectWaiters();
    }
    async onOpen(ws) {
      try {
        for (const [channel, state] of this.joined) {
          const reply = await this.sendOp(ws, "join", { channel, state });
          this.clientId = reply.client_id ?? this.clientId;
        }
        await this.syncStreams(ws);
      } catch {
        return;
      }
      if (this.ws === ws) {
        this.connected = true;
        this.wakeConnectWaiters();
      }
    }
    /** (Re)subscribe every stream not yet subscribed on this connection, one at a time. */
    syncStreams(ws) {
      const run = async () => {
        for (const stream of [...this.streams.values()]) {
          if (stream.bound === ws || stream.ended) continue;
          let reply;
          try {
            reply = await this.sendOp(ws, "subscribe", stream.frame());
          } catch (error) {
            if (error instanceof LevelstreamError) {
              stream.fail(error);
              continue;
            }
            throw error;
          }
          stream.bound = ws;
          stream.subscribed(reply);
          stream.markLive();
        }
      };
      const next = this.syncing.then(run, run);
      this.syncing = next.catch(() => void 0);
      return next;
    }
    onMessage(raw) {
      let frame;
      try {
        frame = JSON.parse(String(raw));
      } catch {
        return;
      }
      const kind = frame.type;
      if (kind === "reply" || kind === "pong") {
        if (frame.id === null && this.authWaiter !== null) {
          const waiter = this.authWaiter;
          this.authWaiter = null;
          waiter.resolve(frame);
          return;
        }
        const pending = this.pending.get(String(frame.id));
        if (pending !== void 0) {
          this.pending.delete(String(frame.id));
          pending.resolve(frame);
        }
        return;
      }
      if (kind === "presence") {
        const event = frame;
        for (const stream of this.streams.values()) {
          if (stream instanceof ChannelSubscription && stream.channel === event.channel) stream.push(event);
        }
        return;
      }
      const target = this.streams.get(String(frame.sub));
      if (target === void 0) return;
      if (target instanceof ChannelSubscription) {
        if (kind === "message") {
          target.push({ type: "message", channel: String(frame.channel), data: frame.data, from: frame.from ?? null });
        }
        return;
      }
      if (kind === "change") target.onChange(frame.change);
      else if (kind === "snapshot") {
        target.onSnapshot(frame.items, Number(frame.seq), frame.done === true);
      } else if (kind === "reset") target.onReset(frame.oldest_seq);
      else if (kind === "error") target.fail(errorFromProblem(frame.error ?? {}));
    }
    scheduleRefresh(ws, previous = null) {
      this.clearRefresh();
      if (this.options.tokenProvider === void 0) return;
      const expiry = jwtExpiryMs(this.token ?? "");
      if (expiry === null || expiry === previous) return;
      const remaining = expiry - Date.now();
      const margin = Math.min(this.options.refreshMarginMs ?? 3e4, remaining / 2);
      this.refreshTimer = setTimeout(() => {
        void (async () => {
          try {
            await this.sendOp(ws, "auth", { token: await this.currentToken() });
            if (this.ws === ws) this.scheduleRefresh(ws, expiry);
          } catch {
            ws.close(4001, "token refresh refused");
          }
        })();
      }, Math.max(remaining - margin, 50));
    }
    clearRefresh() {
      if (this.refreshTimer !== null) clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
    }
    // --- streams ------------------------------------------------------------------------
    /** @internal Register `stream`; resolves once the server has it (or rejects with why not). */
    async startStream(stream) {
      if (this.fatal !== null) throw this.fatal;
      this.streams.set(stream.id, stream);
      const deadline = Date.now() + this.requestTimeoutMs;
      if (this.transport === "sse") {
        void this.sseLoop(stream);
      } else {
        try {
          await this.syncStreams(await this.waitConnected());
        } catch (error) {
          if (!(error instanceof ConnectionLostError)) throw error;
        }
      }
      if (!await stream.waitLive(deadline - Date.now())) {
        stream.close();
        throw new ConnectionLostError(`the server did not confirm the subscription in ${this.requestTimeoutMs} ms`);
      }
      if (stream.ended && stream.error !== null && stream.pending === 0) throw stream.error;
    }
    /** @internal */
    forget(stream) {
      if (this.streams.get(stream.id) !== stream) return;
      this.streams.delete(stream.id);
      const ws = this.ws;
      if (ws !== null && stream.bound === ws && !this.closed) {
        try {
          ws.send(JSON.stringify({ op: "unsubscribe", id: null, sub: stream.id }));
        } catch {
        }
      }
    }
    /** @internal The consumer fell too far behind: drop the subscription, resume from the log. */
    async resync(sub) {
      sub.overflowed = false;
      if (this.transport === "sse") {
        sub.eventSource?.close();
        return;
      }
      const ws = this.ws;
      if (ws === null || sub.bound !== ws) return;
      try {
        await this.sendOp(ws, "unsubscribe", { sub: sub.id });
      } catch {
      }
      sub.bound = null;
      await this.syncStreams(ws).catch(() => void 0);
    }
    // --- Server-Sent Events fallback -----------------------------------------------------
    async rest(method, path, body) {
      const headers = { Authorization: `Bearer ${await this.currentToken()}` };
      if (body !== void 0) headers["Content-Type"] = "application/json";
      const response = await (this.options.fetch ?? fetch)(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === void 0 ? void 0 : JSON.stringify(body)
      });
      const text = await response.text();
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {
      }
      if (!response.ok) throw errorFromProblem(parsed, response.status);
      return parsed;
    }
    async sseLoop(stream) {
      const backoff = new Backoff(this.options.backoffInitialMs ?? 100, this.options.backoffMaxMs ?? 5e3);
      const Ctor = this.options.EventSource ?? globalThis.EventSource;
      if (Ctor === void 0) {
        stream.fail(new Error("no EventSource implementation: pass options.EventSource"));
        return;
      }
      while (!stream.ended && !this.closed) {
        let ticket;
        try {
          ticket = String((await this.rest("POST", "/v1/auth/ticket")).ticket);
        } catch (error) {
          const status = error instanceof LevelstreamError ? error.status : void 0;
          const retry = !(error instanceof LevelstreamError) || RETRY_STATUSES.has(status ?? 0) || status === 401 && this.options.tokenProvider !== void 0;
          if (!retry) {
            stream.fail(error);
            return;
          }
          await backoff.sleep();
          continue;
        }
        const params = new URLSearchParams({ ticket });
        if (stream instanceof Subscription) {
          params.set("collection", stream.collection);
          for (const [name, value] of Object.entries(stream.filters)) params.set(name, value);
          if (stream.snapshotPending) {
            stream.restartSnapshot();
            params.set("snapshot", "true");
          } else if (stream.lastSeq !== null) {
            params.set("since", String(stream.lastSeq));
          }
          if (stream.epoch !== null) params.set("epoch", stream.epoch);
        } else {
          params.set("channel", stream.channel);
        }
        const outcome = await this.readEventSource(new Ctor(`${this.baseUrl}/v1/stream?${params}`), stream, backoff);
        if (outcome === "end") return;
        if (this.options.reconnect === false) {
          stream.fail(new ConnectionLostError("stream closed"));
          return;
        }
        await backoff.sleep();
      }
    }
    /** Feed one EventSource to `stream` until it ends ('end') or drops ('retry'). */
    readEventSource(source, stream, backoff) {
      stream.eventSource = source;
      return new Promise((resolve) => {
        let poll;
        const finish = (outcome) => {
          clearInterval(poll);
          source.close();
          if (stream.eventSource === source) stream.eventSource = null;
          resolve(outcome);
        };
        const json = (ev) => {
          try {
            return JSON.parse(String(ev.data));
          } catch {
            return null;
          }
        };
        source.addEventListener("open", () => {
          backoff.reset();
          stream.markLive();
        });
        source.addEventListener("error", (ev) => {
          if (typeof ev.data === "string" && ev.data !== "") {
            stream.fail(errorFromProblem(json(ev) ?? {}));
            finish("end");
          } else {
            finish(stream.ended ? "end" : "retry");
          }
        });
        if (stream instanceof Subscription) {
          source.addEventListener("change", (ev) => {
            const change = json(ev);
            if (change !== null) stream.onChange(change);
          });
          source.addEventListener("snapshot", (ev) => {
            const page = json(ev);
            if (page !== null) {
              stream.onSnapshot(page.items, Number(page.seq), page.done === true);
            }
          });
          source.addEventListener("reset", (ev) => {
            stream.onReset(json(ev)?.oldest_seq ?? null);
            finish("end");
          });
        } else {
          source.addEventListener("message", (ev) => {
            const data = json(ev);
            if (data !== null) {
              stream.push({ type: "message", channel: String(data.channel), data: data.data, from: data.from ?? null });
            }
          });
          source.addEventListener("presence", (ev) => {
            const data = json(ev);
            if (data !== null) stream.push({ type: "presence", ...data });
          });
        }
        poll = setInterval(() => {
          if (stream.ended || this.closed || stream.eventSource !== source) {
            finish(stream.ended || this.closed ? "end" : "retry");
          }
        }, 250);
      });
    }
  };

  // src/queries.ts
  async function* queryPages(client2, collection, range = {}, cursor = null) {
    for (; ; ) {
      const { data } = await listDocuments({
        client: client2,
        throwOnError: true,
        path: { collection },
        query: cursor === null ? range : { ...range, cursor }
      });
      const page = data;
      yield page;
      cursor = page.next_cursor ?? null;
      if (cursor === null) return;
    }
  }
  async function* query(client2, collection, range = {}) {
    for await (const page of queryPages(client2, collection, range)) yield* page.items;
  }
  async function explain(client2, collection, range = {}) {
    const { data } = await listDocuments({
      client: client2,
      throwOnError: true,
      path: { collection },
      query: { ...range, explain: true }
    });
    return data;
  }

  // src/admin.ts
  var admin_exports = {};
  __export(admin_exports, {
    createIndex: () => createIndex,
    deleteIndex: () => deleteIndex2,
    deleteRule: () => deleteRule2,
    ensureIndex: () => ensureIndex,
    getIndex: () => getIndex2,
    getRule: () => getRule2,
    listIndexes: () => listIndexes2,
    listRules: () => listRules2,
    mintToken: () => mintToken2,
    putRule: () => putRule2,
    waitForIndex: () => waitForIndex
  });
  async function createIndex(client2, collection, name, fields) {
    const { data } = await putIndex({ client: client2, throwOnError: true, path: { collection, name }, body: { fields } });
    return data;
  }
  async function getIndex2(client2, collection, name) {
    return (await getIndex({ client: client2, throwOnError: true, path: { collection, name } })).data;
  }
  async function listIndexes2(client2, collection) {
    return (await listIndexes({ client: client2, throwOnError: true, path: { collection } })).data.items;
  }
  async function deleteIndex2(client2, collection, name) {
    await deleteIndex({ client: client2, throwOnError: true, path: { collection, name } });
  }
  async function waitForIndex(client2, collection, name, options = {}) {
    const deadline = Date.now() + (options.timeoutMs ?? 3e5);
    for (; ; ) {
      const index = await getIndex2(client2, collection, name);
      options.onProgress?.(index);
      if (index.state === "ready") return index;
      if (Date.now() >= deadline) {
        throw new Error(`index '${name}' of '${collection}' is still building (${index.done} of ${index.total})`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 200));
    }
  }
  async function ensureIndex(client2, collection, name, fields, options = {}) {
    const index = await createIndex(client2, collection, name, fields);
    if (index.state === "ready") {
      options.onProgress?.(index);
      return index;
    }
    return waitForIndex(client2, collection, name, options);
  }
  async function putRule2(client2, glob, rule) {
    return (await putRule({ client: client2, throwOnError: true, path: { glob }, body: rule })).data;
  }
  async function getRule2(client2, glob) {
    return (await getRule({ client: client2, throwOnError: true, path: { glob } })).data;
  }
  async function listRules2(client2) {
    return (await listRules({ client: client2, throwOnError: true })).data;
  }
  async function deleteRule2(client2, glob) {
    return (await deleteRule({ client: client2, throwOnError: true, path: { glob } })).data;
  }
  async function mintToken2(client2, sub, options = {}) {
    return (await mintToken({ client: client2, throwOnError: true, body: { ...options, sub } })).data;
  }
  return __toCommonJS(browser_exports);
})();
