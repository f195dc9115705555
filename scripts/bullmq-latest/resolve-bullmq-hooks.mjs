let parentURL;

export function initialize(data) {
  parentURL = data.parentURL;
}

export function resolve(specifier, context, next) {
  if (specifier === "bullmq") return next(specifier, { ...context, parentURL });
  return next(specifier, context);
}
