package store

import (
	"strings"
	"testing"
	"time"
)

func TestParseRedisURL(t *testing.T) {
	for _, c := range []struct {
		url      string
		topo     Topology
		addrs    string
		master   string
		wait     int
		waitFor  time.Duration
		password string
		db       int
	}{
		{url: "redis://127.0.0.1:6379/0", topo: TopologyServer, addrs: "127.0.0.1:6379"},
		{url: "rediss://u:pw@redis.example:6380/2", topo: TopologyServer, addrs: "redis.example:6380", password: "pw", db: 2},
		{url: "redis://h:1/0?wait_replicas=1&wait_timeout=250ms&dial_timeout=3s", topo: TopologyServer, addrs: "h:1", wait: 1, waitFor: 250 * time.Millisecond},
		{url: "redis+cluster://a:7001,b:7002,[::1]:7003", topo: TopologyCluster, addrs: "a:7001,b:7002,[::1]:7003"},
		{url: "rediss+cluster://:pw@a:7001/0?wait_replicas=2&read_timeout=2s", topo: TopologyCluster, addrs: "a:7001", wait: 2, password: "pw"},
		{url: "redis+sentinel://:pw@s1:26379,s2:26379/mymaster/3?sentinel_password=spw", topo: TopologySentinel, addrs: "s1:26379,s2:26379", master: "mymaster", password: "pw", db: 3},
		{url: "REDIS+SENTINEL://s1:26379/m", topo: TopologySentinel, addrs: "s1:26379", master: "m"},
	} {
		t.Run(c.url, func(t *testing.T) {
			cfg, err := ParseRedisURL(c.url)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Topology != c.topo || strings.Join(cfg.Addrs, ",") != c.addrs || cfg.MasterName != c.master || cfg.WaitReplicas != c.wait {
				t.Fatalf("got %s %v master %q wait %d", cfg.Topology, cfg.Addrs, cfg.MasterName, cfg.WaitReplicas)
			}
			want := c.waitFor
			if want == 0 {
				want = defaultWaitTimeout
			}
			if cfg.WaitTimeout != want {
				t.Errorf("WaitTimeout = %v, want %v", cfg.WaitTimeout, want)
			}
			var pw string
			var db int
			switch c.topo {
			case TopologyServer:
				pw, db = cfg.server.Password, cfg.server.DB
			case TopologyCluster:
				pw = cfg.cluster.Password
				if len(cfg.cluster.Addrs) != len(cfg.Addrs) {
					t.Errorf("go-redis got addresses %v", cfg.cluster.Addrs)
				}
			case TopologySentinel:
				pw, db = cfg.failover.Password, cfg.failover.DB
				if cfg.failover.MasterName != c.master || len(cfg.failover.SentinelAddrs) != len(cfg.Addrs) {
					t.Errorf("go-redis got master %q sentinels %v", cfg.failover.MasterName, cfg.failover.SentinelAddrs)
				}
				if strings.Contains(c.url, "sentinel_password=spw") && cfg.failover.SentinelPassword != "spw" {
					t.Errorf("sentinel password %q", cfg.failover.SentinelPassword)
				}
			}
			if pw != c.password || db != c.db {
				t.Errorf("password %q db %d, want %q %d", pw, db, c.password, c.db)
			}
			if s := RedactRedisURL(c.url); (c.password != "" && strings.Contains(s, ":"+c.password+"@")) || strings.Contains(s, "spw") {
				t.Errorf("RedactRedisURL kept a password: %s", s)
			}
		})
	}
	for _, bad := range []string{
		"localhost:6379",
		"http://h:1",
		"redis+cluster://a:7001,b",
		"redis+cluster://a:7001/3",
		"redis+cluster://:secret@a:0",
		"redis+sentinel://s1:26379",
		"redis+sentinel://s1:26379/m/x",
		"redis+mesh://a:1",
		"redis://h:1/0?wait_replicas=-1",
		"redis://h:1/0?wait_timeout=soon",
		"redis://h:1/0?nonsense=1",
		"redis://h:1/0?sentinel_password=x",
	} {
		_, err := ParseRedisURL(bad)
		if err == nil {
			t.Errorf("ParseRedisURL(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}
