"""A real remote host for the tests: sshd on 127.0.0.1, reached as an unprivileged user whose environment has no
MENDIX_PAT and whose Python has no requests. Debian's openssh-server is installed when sshd is missing."""

import os
import pwd
import shutil
import socket
import subprocess
import time

USER = "mxpcremote"
SSHD = "/usr/sbin/sshd"


def ensure_sshd():
    """sshd, installed from Debian's packages when missing (without starting a system-wide sshd)."""
    if os.path.exists(SSHD):
        return SSHD
    policy = "/usr/sbin/policy-rc.d"
    made_policy = not os.path.exists(policy)
    if made_policy:
        with open(policy, "w", encoding="utf-8") as handle:
            handle.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "openssh-server"], check=True, env=env,
                       capture_output=True)
    finally:
        if made_policy:
            os.unlink(policy)
    return SSHD


def ensure_user():
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        # "*": no password login, but not a locked account, which sshd without PAM refuses even with a key
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--password", "*", USER], check=True)
        return pwd.getpwnam(USER)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RemoteHost:
    """sshd on a free loopback port with its own host key and config; `inventory()` writes an inventory for it."""

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.proc = None
        self.port = None
        self.client_key = os.path.join(self.workdir, "client_key")
        self.python = None

    def start(self):
        sshd = ensure_sshd()
        user = ensure_user()
        os.makedirs(self.workdir, exist_ok=True)
        host_key = os.path.join(self.workdir, "host_key")
        for key in (host_key, self.client_key):
            if not os.path.exists(key):
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        # sshd reads the key file as the user, so it lives in the user's home, not in the (root-only) work folder.
        ssh_dir = os.path.join(user.pw_dir, ".ssh")
        os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
        authorized = os.path.join(ssh_dir, "authorized_keys")
        shutil.copy(self.client_key + ".pub", authorized)
        for path in (ssh_dir, authorized):
            os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(authorized, 0o600)
        os.makedirs("/run/sshd", exist_ok=True)
        # A Python of the user's own without requests, whatever the system Python has.
        self.python = os.path.join(user.pw_dir, "py-without-requests", "bin", "python3")
        if not os.path.exists(self.python):
            subprocess.run(["runuser", "-u", USER, "--", "python3", "-m", "venv", "--without-pip",
                            os.path.dirname(os.path.dirname(self.python))], check=True)
        self.port = free_port()
        config = os.path.join(self.workdir, "sshd_config")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {os.path.join(self.workdir, 'sshd.pid')}
AuthorizedKeysFile {authorized}
AllowUsers {USER}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
Subsystem sftp internal-sftp
""")
        self.proc = subprocess.Popen([sshd, "-D", "-e", "-f", config], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            probe = subprocess.run(self.ssh_command("true"), capture_output=True, text=True, check=False)
            if probe.returncode == 0:
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sshd did not come up on port {self.port}: {probe.stderr}")
            time.sleep(0.2)

    def ssh_command(self, command):
        return ["ssh", "-p", str(self.port), "-i", self.client_key, "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                f"{USER}@127.0.0.1", command]

    def inventory(self, path, hosts):
        """An INI inventory: each name in `hosts` (a dict name -> host vars) is this remote host."""
        lines = ["[servers]"]
        for name, host_vars in hosts.items():
            extra = " ".join(f"{k}={v}" for k, v in host_vars.items())
            lines.append(f"{name} ansible_host=127.0.0.1 ansible_port={self.port} ansible_user={USER} "
                         f"ansible_ssh_private_key_file={self.client_key} ansible_python_interpreter={self.python} {extra}")
        lines += ["", "[servers:vars]",
                  "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"]
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        return str(path)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
