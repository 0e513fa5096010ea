// Runs once, when the MongoDB volume is first initialised (docker-entrypoint-initdb.d).
// One user per service, allowed to read and write its own database only: a compromised
// service cannot read another's data. Passwords come from MONGO_PASSWORD_<SERVICE>.
const prefix = process.env.DB_PREFIX || "portal";
const services = ["intake", "processing", "notification", "payment", "feedback", "postal", "reporting",
                  "ministry", "gateway"];
for (const service of services) {
  const password = process.env["MONGO_PASSWORD_" + service.toUpperCase()];
  if (!password) {
    throw new Error("MONGO_PASSWORD_" + service.toUpperCase() + " is not set");
  }
  const name = prefix + "_" + service;
  db.getSiblingDB(name).createUser({user: service, pwd: password, roles: [{role: "readWrite", db: name}]});
  print("created user " + service + " for database " + name);
}
