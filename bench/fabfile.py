"""The LAMP example's remote work as a classic Fabric recipe: the baseline the bench compares with.

Same steps as the project's build: wait for cloud-init, apt, uploads, scripts, first-boot and
first-login scripts, cleanup. Run by bench/run.ts with: fab -H root@IP -i KEY lamp --spec DIR --work DIR
"""
import os
from fabric import task


def put_tree(c, local_dir, remote_dir):
    # What a fabfile does for a folder: one put per file.
    for root, _dirs, files in os.walk(local_dir):
        rel = os.path.relpath(root, local_dir)
        target = remote_dir if rel == "." else os.path.join(remote_dir, rel)
        c.run(f"mkdir -p {target}")
        for f in sorted(files):
            c.put(os.path.join(root, f), os.path.join(target, f))


@task
def lamp(c, spec, work):
    c.run("cloud-init status --wait >/dev/null")
    c.put(os.path.join(work, "apt.sh"), "/tmp/apt.sh")
    c.run("bash /tmp/apt.sh")
    c.put(os.path.join(spec, "files/etc/nginx/sites-available/default"), "/etc/nginx/sites-available/default")
    c.run("chmod 0644 /etc/nginx/sites-available/default")
    put_tree(c, os.path.join(spec, "files/var/www"), "/var/www")
    c.put(os.path.join(spec, "scripts/01-setup.sh"), "/tmp/01-setup.sh")
    c.run("bash /tmp/01-setup.sh")
    c.run("ufw allow 'Nginx Full' && ufw limit ssh && ufw --force enable")
    c.run("mkdir -p /var/lib/cloud/scripts/per-instance /opt/acme")
    c.put(os.path.join(spec, "scripts/onboot.sh"), "/var/lib/cloud/scripts/per-instance/001_onboot")
    c.put(os.path.join(spec, "scripts/onboot-web.sh"), "/var/lib/cloud/scripts/per-instance/002_onboot-web")
    c.put(os.path.join(spec, "scripts/first-login.sh"), "/opt/acme/first-login.sh")
    c.run("chmod 0755 /var/lib/cloud/scripts/per-instance/* /opt/acme/first-login.sh")
    c.run("cp -f /etc/skel/.bashrc /root/.bashrc && echo '/opt/acme/first-login.sh; cp -f /etc/skel/.bashrc /root/.bashrc' >> /root/.bashrc")
    c.put(os.path.join(work, "cleanup.sh"), "/tmp/cleanup.sh")
    c.run("bash /tmp/cleanup.sh")


@task
def trivial(c, n=50):
    for _ in range(int(n)):
        c.run("true")


@task
def put_file(c, local, remote):
    c.put(local, remote)


@task
def put_many(c, local_dir, remote_dir):
    put_tree(c, local_dir, remote_dir)
