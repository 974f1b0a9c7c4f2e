// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The cgroup-path parser behind containerId, with paths as each runtime
 * writes them, and malformed or hostile ones. The BPF matcher
 * (container_id_at in bpf/mptrace.bpf.c) follows the same rules; the
 * integration tests (test_context) check the two agree on real cgroups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "context/container.h"
#include "context/runtime.h"

#include <sys/stat.h>
#include <unistd.h>

#define ID "3f4e2a1b9c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POD "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718"
#define POD_ "1f2e3d4c_5b6a_7980_a1b2_c3d4e5f60718"

static void expect(const char *path, const char *id, const char *runtime, const char *pod)
{
	struct mpt_container c;
	bool found = mpt_container_parse(path, &c);

	if (found != (id[0] != '\0') || strcmp(c.id, id) || strcmp(c.runtime, runtime) ||
	    strcmp(c.pod_uid, pod))
		fail_msg("%s:\n  got found=%d id='%s' runtime='%s' pod='%s'\n  want id='%s' "
			 "runtime='%s' pod='%s'",
			 path ? path : "(null)", found, c.id, c.runtime, c.pod_uid, id, runtime,
			 pod);
}

static void test_runtimes(void **state)
{
	(void)state;
	/* Docker: systemd driver (cgroup v2), cgroupfs driver */
	expect("/system.slice/docker-" ID ".scope", ID, "docker", "");
	expect("/docker/" ID, ID, "docker", "");
	/* containerd under Kubernetes, systemd driver, and the cgroupsPath form */
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_
	       ".slice/cri-containerd-" ID ".scope",
	       ID, "containerd", POD);
	expect("/kubepods.slice/kubepods-pod" POD_ ".slice/cri-containerd-" ID ".scope", ID,
	       "containerd", POD);
	expect("/kubepods-besteffort-pod" POD_ ".slice:cri-containerd:" ID, ID, "containerd", POD);
	/* Kubernetes with the cgroupfs driver: a bare id under pod<uid> */
	expect("/kubepods/burstable/pod" POD "/" ID, ID, "cri", POD);
	expect("/kubepods/pod" POD "/" ID, ID, "cri", POD);
	/* CRI-O, but not its conmon monitor */
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD_
	       ".slice/crio-" ID ".scope",
	       ID, "crio", POD);
	expect("/machine.slice/crio-conmon-" ID ".scope", "", "", "");
	/* Podman, rootful and rootless, a sub-cgroup of the container, not conmon */
	expect("/machine.slice/libpod-" ID ".scope", ID, "podman", "");
	expect("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope", ID,
	       "podman", "");
	expect("/machine.slice/libpod-" ID ".scope/container", ID, "podman", "");
	expect("/machine.slice/libpod-conmon-" ID ".scope", "", "", "");
	/* a bare id elsewhere is a container of a runtime we cannot name */
	expect("/lxc.payload/" ID, ID, "unknown", "");
	/* nested containers: the outermost, the host's runtime's, holds the call; an inner
	 * cgroup named like another container claims nothing */
	expect("/docker/" ID "/docker/" ID2, ID, "docker", "");
	expect("/system.slice/docker-" ID ".scope/docker-" ID2 ".scope", ID, "docker", "");
	expect("/system.slice/docker-" ID ".scope/init.scope", ID, "docker", "");
}

#define CID "3f4e2a1b9c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"

/* @text into @root/@rel, its directories made. */
static void put_file(const char *root, const char *rel, const char *text)
{
	char path[4096], cmd[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char docker_state[] =
    "{\"id\":\"" CID "\",\"cgroup_paths\":{\"\":\"/sys/fs/cgroup/system.slice/docker-" CID
    ".scope\"},\"config\":{\"labels\":[\"bundle=/run/containerd/x\"]}}";

/* Docker and CRI-O from their files; damaged and hostile files leave the id unverified. */
/* A state file half-written, a symlink, too big: unverified, never a crash or a wait. */
static void check_hostile_state(const char *root)
{
	struct mpt_ctr_meta m;
	char path[4096];
	FILE *f;

	put_file(root, "run/runc/" CID "/state.json", "{\"id\":\"" CID "\",\"cgr");
	mpt_runtime_read(root, CID, "/crio/" CID, &m);
	assert_int_equal(m.verify, MPT_CTR_UNKNOWN);
	snprintf(path, sizeof(path), "%s/run/runc/" CID "/state.json", root);
	unlink(path);
	assert_int_equal(symlink("/etc/hostname", path), 0);
	mpt_runtime_read(root, CID, "/crio/" CID, &m);
	assert_int_equal(m.verify, MPT_CTR_UNKNOWN);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"id\":\"%s\",\"pad\":\"", CID);
	for (int i = 0; i < (5 << 20) / 64; i++)
		fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", f);
	fputs("\"}", f);
	fclose(f);
	mpt_runtime_read(root, CID, "/crio/" CID, &m);
	assert_int_equal(m.verify, MPT_CTR_UNKNOWN);
}

static void test_runtime_files(void **state)
{
	char root[] = "/tmp/mpt-runtime-XXXXXX", cmd[256];
	const char *docker_cg = "/system.slice/docker-" CID ".scope";
	struct mpt_ctr_meta m;

	(void)state;
	assert_non_null(mkdtemp(root));
	put_file(root, "run/docker/runtime-runc/moby/" CID "/state.json", docker_state);
	put_file(root, "var/lib/docker/containers/" CID "/config.v2.json",
		 "{\"Name\":\"/web\\u001b1\",\"Image\":\"sha256:abc\",\"Config\":{\"Image\":"
		 "\"nginx:1\",\"Labels\":{\"tier\":\"front\",\"app\":\"shop\","
		 "\"io.kubernetes.x\":\"y\"}}}");
	mpt_runtime_read(root, CID, docker_cg, &m);
	assert_int_equal(m.verify, MPT_CTR_VERIFIED);
	assert_string_equal(m.name, "web?1");
	assert_string_equal(m.image, "nginx:1");
	assert_string_equal(m.image_id, "sha256:abc");
	assert_string_equal(m.labels, "app=shop\ntier=front\n");
	/* below the container's cgroup is in it; beside it is not */
	mpt_runtime_read(root, CID, "/system.slice/docker-" CID ".scope/inner", &m);
	assert_int_equal(m.verify, MPT_CTR_VERIFIED);
	mpt_runtime_read(root, CID, "/user.slice/docker-" CID ".scope", &m);
	assert_int_equal(m.verify, MPT_CTR_ELSEWHERE);
	assert_string_equal(m.name, "");
	mpt_runtime_read(root, CID, "/system.slice/docker-" CID ".scopex", &m);
	assert_int_equal(m.verify, MPT_CTR_ELSEWHERE);
	mpt_runtime_read(root, "aaaa2a1b9c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f",
			 docker_cg, &m);
	assert_int_equal(m.verify, MPT_CTR_UNKNOWN);

	snprintf(cmd, sizeof(cmd), "rm -rf %s/run/docker", root);
	assert_int_equal(system(cmd), 0);

	/* CRI-O: everything in the annotations */
	put_file(root, "run/runc/" CID "/state.json",
		 "{\"id\":\"" CID "\",\"config\":{\"cgroups\":{\"path\":\"/crio/" CID "\"},"
		 "\"labels\":[\"io.kubernetes.container.name=api\",\"io.kubernetes.pod.name=p\","
		 "\"io.kubernetes.pod.namespace=ns\",\"io.kubernetes.cri-o.ImageName=img:2\","
		 "\"io.kubernetes.cri-o.ImageRef=sha256:def\","
		 "\"io.kubernetes.cri-o.Labels={\\\"team\\\":\\\"a\\\"}\"]}}");
	mpt_runtime_read(root, CID, "/crio/" CID, &m);
	assert_int_equal(m.verify, MPT_CTR_VERIFIED);
	assert_string_equal(m.name, "api");
	assert_string_equal(m.pod_name, "p");
	assert_string_equal(m.pod_namespace, "ns");
	assert_string_equal(m.image, "img:2");
	assert_string_equal(m.image_id, "sha256:def");
	assert_string_equal(m.labels, "team=a\n");

	/* crun: its status names the cgroup and bundle, its copy of config.json the annotations */
	put_file(root, "run/crun/" CID "/status",
		 "{\"pid\":1,\"cgroup-path\":\"machine.slice/libpod-" CID ".scope\","
		 "\"bundle\":\"/b\"}");
	put_file(root, "run/crun/" CID "/config.json",
		 "{\"annotations\":{\"io.kubernetes.pod.name\":\"cp\","
		 "\"io.kubernetes.container.name\":\"cn\"}}");
	snprintf(cmd, sizeof(cmd), "mv %s/run/runc %s/run/runc.off", root, root);
	assert_int_equal(system(cmd), 0);
	mpt_runtime_read(root, CID, "/machine.slice/libpod-" CID ".scope/container", &m);
	assert_int_equal(m.verify, MPT_CTR_VERIFIED);
	assert_string_equal(m.name, "cn");
	assert_string_equal(m.pod_name, "cp");
	mpt_runtime_read(root, CID, "/crio/" CID, &m);
	assert_int_equal(m.verify, MPT_CTR_ELSEWHERE);
	snprintf(cmd, sizeof(cmd), "rm -rf %s/run/crun; mv %s/run/runc.off %s/run/runc", root, root,
		 root);
	assert_int_equal(system(cmd), 0);

	check_hostile_state(root);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
}

static void test_host_paths(void **state)
{
	(void)state;
	expect("/", "", "", "");
	expect("", "", "", "");
	expect(NULL, "", "", "");
	expect("/user.slice/user-0.slice/session-1.scope", "", "", "");
	expect("/system.slice/docker.service", "", "", "");
	expect("/kubepods.slice/kubepods-burstable.slice", "", "", "");
	expect("/docker", "", "", "");
}

static void test_malformed(void **state)
{
	char *p, name[512];
	size_t n;

	(void)state;
	/* too short, too long, wrong case, wrong suffix, look-alike prefixes */
	expect("/system.slice/docker-" ID2 "f.scope", "", "", "");
	expect("/system.slice/docker-"
	       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
	       ".scope",
	       "", "", "");
	expect(
	    "/system.slice/docker-3F4E2A1B9C0D8E7F6A5B4C3D2E1F0A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4E3F"
	    ".scope",
	    "", "", "");
	expect("/system.slice/docker-" ID ".slice", "", "", "");
	expect("/system.slice/docker-" ID ".scopex", "", "", "");
	expect("/system.slice/notdocker-" ID ".scope", "", "", "");
	expect("/system.slice/docker_" ID ".scope", "", "", "");
	expect("/system.slice/x:docker-" ID ".scope", ID, "docker", "");
	expect("/system.slice/docker--" ID ".scope", "", "", "");
	expect("/g" ID, "", "", "");
	/* a pod uid that is not one */
	expect("/kubepods.slice/kubepods-podzzzz.slice/cri-containerd-" ID ".scope", ID,
	       "containerd", "");
	expect("/kubepods/pod" POD "x/" ID, ID, "cri", "");
	expect("/pod" POD "/" ID, ID, "unknown", "");
	/* slashes only, empty components */
	expect("////", "", "", "");
	expect("//docker//" ID "//", ID, "docker", "");

	/* a name longer than the BPF side reads is cut there, as the kernel side cuts it */
	memset(name, 'a', 180);
	snprintf(name + 180, sizeof(name) - 180, ":docker-%s.scope", ID);
	p = malloc(strlen(name) + 2);
	sprintf(p, "/%s", name);
	expect(p, "", "", "");
	free(p);

	/* nested far below a container: still in it, at any depth */
	n = 64 * 1024;
	p = malloc(n);
	strcpy(p, "/docker/" ID);
	for (int i = 0; i < 1000; i++)
		strcat(p, "/x");
	expect(p, ID, "docker", "");
	/* a container below the levels the kernel side keeps from the top is not seen */
	strcpy(p, "");
	for (int i = 0; i < MPT_CGROUP_PATH_DEPTH; i++)
		strcat(p, "/x");
	strcat(p, "/docker-" ID ".scope");
	expect(p, "", "", "");
	/* very long paths: many components, one very long component */
	strcpy(p, "");
	for (int i = 0; i < 5000; i++)
		strcat(p, "/abcdefghij");
	expect(p, "", "", "");
	memset(p, 'z', n - 1);
	p[0] = '/';
	p[n - 1] = '\0';
	expect(p, "", "", "");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runtimes),
	    cmocka_unit_test(test_host_paths),
	    cmocka_unit_test(test_runtime_files),
	    cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests_name("container", tests, NULL, NULL);
}
