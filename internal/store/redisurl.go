package store

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Topology is the kind of Redis deployment a REDIS_URL names.
type Topology string

const (
	TopologyServer   Topology = "server"   // one server (or a proxy in front of several)
	TopologyCluster  Topology = "cluster"  // Redis Cluster: keys sharded over masters by hash slot
	TopologySentinel Topology = "sentinel" // a master and replicas watched by Sentinel, which names the current master
)

// URL forms of REDIS_URL. The schemes carry the topology, since nothing in
// a host list tells a cluster from a server, and guessing by asking the
// server would make a misconfiguration look like an outage:
//
//	redis://[user:password@]host:port[/db][?options]              one server
//	rediss://...                                                   the same over TLS
//	unix://[user:password@]/path/redis.sock[?db=N]                 one server on a socket
//	redis+cluster://[user:password@]host:port[,host:port...][?options]   Redis Cluster
//	redis+sentinel://[user:password@]host:port[,host:port...]/master[/db][?options]   Sentinel
//
// rediss+cluster:// and rediss+sentinel:// use TLS. Cluster addresses are
// seeds: one is enough to discover the cluster, more let meshbot start while
// one is down. Sentinel addresses are the sentinels; the path names the
// master as Sentinel knows it, and user and password are the master's (the
// sentinels' own are sentinel_username and sentinel_password).
//
// Options are go-redis's (dial_timeout, read_timeout, pool_size, ...) and
// meshbot's own:
//
//	wait_replicas=N      Enqueue and EnqueueDelivery return only after N
//	                     replicas acknowledged the write (Redis WAIT); see
//	                     Options.WaitReplicas
//	wait_timeout=D       how long they wait for that (default 1s)
const (
	paramWaitReplicas     = "wait_replicas"
	paramWaitTimeout      = "wait_timeout"
	paramSentinelUser     = "sentinel_username"
	paramSentinelPassword = "sentinel_password"
	defaultWaitTimeout    = time.Second
)

// RedisConfig is a parsed REDIS_URL.
type RedisConfig struct {
	Topology Topology
	// Addrs: the server, the cluster's seed nodes, or the sentinels.
	Addrs []string
	// MasterName is the Sentinel master's name.
	MasterName string
	// WaitReplicas and WaitTimeout come from wait_replicas and wait_timeout.
	WaitReplicas int
	WaitTimeout  time.Duration

	server   *redis.Options
	cluster  *redis.ClusterOptions
	failover *redis.FailoverOptions
}

// ParseRedisURL reads a REDIS_URL in one of the forms above. Its errors
// never contain the password.
func ParseRedisURL(s string) (*RedisConfig, error) {
	c, err := parseRedisURL(s)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s: %w", RedactRedisURL(s), err)
	}
	return c, nil
}

const urlForms = "want redis://host:port[/db], redis+cluster://host:port[,host:port...] or redis+sentinel://host:port[,host:port...]/master[/db] (rediss for TLS)"

func parseRedisURL(s string) (*RedisConfig, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return nil, errors.New(urlForms)
	}
	base, topo, _ := strings.Cut(strings.ToLower(scheme), "+")
	if base != "redis" && base != "rediss" && !(base == "unix" && topo == "") {
		return nil, fmt.Errorf("scheme %q: %s", scheme, urlForms)
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	userinfo, hostlist := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostlist = authority[:i], authority[i+1:]
	}
	t, err := url.Parse("x://h" + tail)
	if err != nil {
		return nil, errors.New("bad path or query")
	}
	q := t.Query()
	c := &RedisConfig{WaitTimeout: defaultWaitTimeout}
	if v := q.Get(paramWaitReplicas); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s=%q: want a number of replicas", paramWaitReplicas, v)
		}
		c.WaitReplicas = n
	}
	if v := q.Get(paramWaitTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%q: want a positive duration such as 500ms", paramWaitTimeout, v)
		}
		c.WaitTimeout = d
	}
	q.Del(paramWaitReplicas)
	q.Del(paramWaitTimeout)

	if base == "unix" || topo == "" {
		if q.Has(paramSentinelUser) || q.Has(paramSentinelPassword) {
			return nil, fmt.Errorf("%s and %s belong to redis+sentinel:// URLs", paramSentinelUser, paramSentinelPassword)
		}
		u, err := url.Parse(s)
		if err != nil {
			return nil, errors.New(urlForms)
		}
		u.RawQuery = q.Encode()
		o, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, err
		}
		c.Topology, c.Addrs, c.server = TopologyServer, []string{o.Addr}, o
		return c, nil
	}

	var addrs []string
	for _, h := range strings.Split(hostlist, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("address %q: want host:port", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("address %q: bad port", h)
		}
		addrs = append(addrs, h)
	}
	var user, password string
	if userinfo != "" {
		ui, err := url.Parse("x://" + userinfo + "@h")
		if err != nil || ui.User == nil {
			return nil, errors.New("bad user or password")
		}
		user = ui.User.Username()
		password, _ = ui.User.Password()
	}
	c.Addrs = addrs
	// go-redis' own URL parsers take the remaining options; they name one
	// address in the host and the others as addr parameters.
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	goURL := &url.URL{Scheme: base, Host: addrs[0]}
	switch topo {
	case "cluster":
		if p := strings.Trim(t.Path, "/"); p != "" && p != "0" {
			return nil, fmt.Errorf("path %q: a cluster has only database 0", t.Path)
		}
		if q.Has(paramSentinelUser) || q.Has(paramSentinelPassword) {
			return nil, fmt.Errorf("%s and %s belong to redis+sentinel:// URLs", paramSentinelUser, paramSentinelPassword)
		}
		if userinfo != "" {
			goURL.User = url.UserPassword(user, password)
		}
		goURL.RawQuery = q.Encode()
		o, err := redis.ParseClusterURL(goURL.String())
		if err != nil {
			return nil, err
		}
		c.Topology, c.cluster = TopologyCluster, o
	case "sentinel":
		parts := strings.Split(strings.Trim(t.Path, "/"), "/")
		if parts[0] == "" || len(parts) > 2 {
			return nil, fmt.Errorf("path %q: want /master or /master/db", t.Path)
		}
		c.MasterName = parts[0]
		q.Set("master_name", parts[0])
		if len(parts) == 2 {
			if _, err := strconv.Atoi(parts[1]); err != nil {
				return nil, fmt.Errorf("database %q: want a number", parts[1])
			}
			q.Set("db", parts[1])
		}
		if user != "" {
			q.Set("username", user)
		}
		if password != "" {
			q.Set("password", password)
		}
		if su, sp := q.Get(paramSentinelUser), q.Get(paramSentinelPassword); su != "" || sp != "" {
			goURL.User = url.UserPassword(su, sp)
		}
		q.Del(paramSentinelUser)
		q.Del(paramSentinelPassword)
		goURL.RawQuery = q.Encode()
		o, err := redis.ParseFailoverURL(goURL.String())
		if err != nil {
			return nil, err
		}
		if base == "rediss" && o.TLSConfig == nil {
			o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c.Topology, c.failover = TopologySentinel, o
	default:
		return nil, fmt.Errorf("scheme %q: %s", scheme, urlForms)
	}
	return c, nil
}

// NewClient connects a go-redis client for the configuration (nothing is
// dialled before the first command).
func (c *RedisConfig) NewClient() redis.UniversalClient {
	switch c.Topology {
	case TopologyCluster:
		o := *c.cluster
		return redis.NewClusterClient(&o)
	case TopologySentinel:
		o := *c.failover
		return redis.NewFailoverClient(&o)
	default:
		o := *c.server
		return redis.NewClient(&o)
	}
}

// String describes the deployment for logs, without credentials.
func (c *RedisConfig) String() string {
	s := string(c.Topology) + " " + strings.Join(c.Addrs, ",")
	if c.MasterName != "" {
		s += " master " + c.MasterName
	}
	return s
}

// RedactRedisURL is s with its passwords replaced, for logs and errors.
func RedactRedisURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		user, _, hasPw := strings.Cut(authority[:i], ":")
		if hasPw {
			authority = user + ":xxxxx" + authority[i:]
		}
	}
	if q := strings.Index(tail, "?"); q >= 0 {
		vals, err := url.ParseQuery(tail[q+1:])
		if err != nil {
			tail = tail[:q] + "?xxxxx"
		} else {
			for _, k := range []string{"password", paramSentinelPassword} {
				if vals.Has(k) {
					vals.Set(k, "xxxxx")
				}
			}
			tail = tail[:q+1] + vals.Encode()
		}
	}
	return scheme + "://" + authority + tail
}
