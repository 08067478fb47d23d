package protocol

// Headers of a build farm (N servers behind a load balancer).
const (
	// HeaderAffinity, on every request of our client, names the context
	// it builds in, "<app>/<platform>/<context>" (context "" before the
	// server named one): a load balancer hashes it so a context's builds
	// go to the server that has it warm.
	HeaderAffinity = "X-Mos-Build-Affinity"
	// HeaderServer, on every answer of our server, is its name
	// (fwbuild-manager --server-name), to see which server built.
	HeaderServer = "X-Fwbuild-Server"
)

// AffinityKey is the value of HeaderAffinity.
func AffinityKey(app, platform, context string) string {
	return app + "/" + platform + "/" + context
}

// HeaderBuildServer, on our client's requests of a build once a server
// answered one, names that server (its HeaderServer, the last one that
// answered): a farm's proxy sends the rest of the build there (the upload
// plan that server holds, the build's progress), where bounded-load hashing
// could send a single request elsewhere.
const HeaderBuildServer = "X-Mos-Build-Server"
