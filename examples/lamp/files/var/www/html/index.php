<?php
// Shows that PHP runs and can reach MariaDB with the credentials made on first boot.
$creds = @parse_ini_file('/var/www/.db.ini');
$db = 'not configured yet';
if ($creds) {
    try {
        $pdo = new PDO('mysql:host=localhost;dbname=app', $creds['user'], $creds['password']);
        $db = 'connected (MariaDB ' . $pdo->query('select version()')->fetchColumn() . ')';
    } catch (Exception $e) {
        $db = 'error';
    }
}
echo "LAMP on DigitalOcean: PHP " . PHP_VERSION . ", database " . $db . "\n";
